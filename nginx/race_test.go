//go:build race

package nginx_test

// raceEnabled reports whether the tests run with the race detector. TestMain
// then builds doorman with it too: the build reuses the packages compiled for
// the test, and a data race in the real binary under nginx's traffic makes
// it exit with status 66 instead of 0, which fails the test.
const raceEnabled = true
