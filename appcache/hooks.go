package appcache

// step names a point of the load path where a test's hook runs (Options.hooks), to interleave
// a writer with a reader deterministically.
type step int

const (
	stepBeforeL2Get      step = iota // a fill read the local version and is about to read the L2
	stepBeforePromote                // it read a value from the L2 and is about to copy it to the L1
	stepLockWait                     // another instance holds the fill lock; polling starts
	stepBeforeLoad                   // the versions were read; the loader is about to run
	stepAfterLoad                    // the loader returned a value, not yet stored
	stepBeforeL1Store                // the L2 store is done (or refused); the L1 store is next
	stepRemoteInvalidate             // a bus message invalidated keys
	numSteps
)

var stepNames = [numSteps]string{"before L2 get", "before promote", "lock wait", "before load",
	"after load", "before L1 store", "remote invalidate"}

func (s step) String() string { return stepNames[s] }

type hooks struct {
	at func(s step, key string)
}

func (c *Cache[T]) hook(s step, key string) {
	if c.hooks != nil && c.hooks.at != nil {
		c.hooks.at(s, key)
	}
}
