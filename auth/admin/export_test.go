package admin

import (
	"context"
	"io"
	"time"
)

// RunAt is Run at the time now, for tests of the calendar windows.
func RunAt(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, now time.Time) error {
	return run(ctx, args, getenv, stdout, now)
}
