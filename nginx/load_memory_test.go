package nginx_test

// What the store drivers cost in memory and in binary size: the idtoken
// floor (startFloor) built again with each driver linked in and opened,
// all three read idle, before any of them served a request.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The floor with SQLite: modernc.org/sqlite (doorman's driver) opens a
// file the way doorman's store does (WAL, full sync) and keeps it open.
// os.Args[2] is the file.
const (
	sqliteImport = "\t\"database/sql\"\n\n\t_ \"modernc.org/sqlite\"\n"
	sqliteSetup  = `	db, err := sql.Open("sqlite", os.Args[2]+"?_journal_mode=WAL&_synchronous=FULL")
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		panic(err)
	}
`
)

// The floor with Redis: go-redis (doorman's client) connects to the
// redis:// URL os.Args[2] and keeps its connection pool.
const (
	redisImport = "\t\"github.com/redis/go-redis/v9\"\n"
	redisSetup  = `	opt, err := redis.ParseURL(os.Args[2])
	if err != nil {
		panic(err)
	}
	if err := redis.NewClient(opt).Ping(context.Background()).Err(); err != nil {
		panic(err)
	}
`
)

// driverFloors are the idtoken floor with each store driver in.
type driverFloors struct {
	sqlite, redis *sidecar
}

// startDriverFloors builds and starts the floor with SQLite (on a file of
// its own) and the floor with Redis (connected to redisURL).
func (s *loadStack) startDriverFloors(t *testing.T, redisURL string) driverFloors {
	t.Helper()
	return driverFloors{
		sqlite: s.startFloorWith(t, "floorsqlite", sqliteImport, sqliteSetup, filepath.Join(s.dir, "floorsqlite.db")),
		redis:  s.startFloorWith(t, "floorredis", redisImport, redisSetup, redisURL),
	}
}

// storeCost is what the store drivers cost: idle RSS and binary size of
// the floor alone and with each driver, and the size of the limit's and
// doorman's binaries.
type storeCost struct {
	floor, sqlite, redis          memStat // idle, before the load
	floorBin, sqliteBin, redisBin int64   // bytes
	limitBin, doormanBin          int64
}

// measureStoreCost reads the idle memory of the floors and every binary's
// size. Call it before the load: the floor serves during it.
func (b *loadBench) measureStoreCost(drivers driverFloors) (storeCost, error) {
	var c storeCost
	var errs [8]error
	c.floor, errs[0] = memory(b.floor.pid())
	c.sqlite, errs[1] = memory(drivers.sqlite.pid())
	c.redis, errs[2] = memory(drivers.redis.pid())
	c.floorBin, errs[3] = fileSize(b.floor.bin)
	c.sqliteBin, errs[4] = fileSize(drivers.sqlite.bin)
	c.redisBin, errs[5] = fileSize(drivers.redis.bin)
	c.limitBin, errs[6] = fileSize(b.limit.bin)
	c.doormanBin, errs[7] = fileSize(doormanBin)
	return c, errors.Join(errs[:]...)
}

// fileSize is path's size in bytes.
func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// print writes the store drivers' cost, and doorman's binary beside the
// limit's and the floor's.
func (c storeCost) print(w io.Writer) {
	fmt.Fprintln(w, "store drivers, idle after start (no request served yet):")
	fmt.Fprintf(w, "  idtoken floor                              %s; binary %.1f MiB\n", c.floor, mib(c.floorBin))
	fmt.Fprintf(w, "  floor + modernc.org/sqlite, a file opened  %s: %+.1f MiB RSS (anon %+.1f, file %+.1f); binary %+.1f MiB\n",
		c.sqlite, mib(c.sqlite.rss-c.floor.rss), mib(c.sqlite.anon-c.floor.anon), mib(c.sqlite.file-c.floor.file), mib(c.sqliteBin-c.floorBin))
	fmt.Fprintf(w, "  floor + go-redis, connected                %s: %+.1f MiB RSS (anon %+.1f, file %+.1f); binary %+.1f MiB\n",
		c.redis, mib(c.redis.rss-c.floor.rss), mib(c.redis.anon-c.floor.anon), mib(c.redis.file-c.floor.file), mib(c.redisBin-c.floorBin))
	fmt.Fprintf(w, "binaries: limit %.1f MiB, idtoken floor %.1f MiB, doorman %.1f MiB\n", mib(c.limitBin), mib(c.floorBin), mib(c.doormanBin))
}
