package web

import "sync"

// memoSize bounds a memo; when full it starts over, which costs one
// computation per page read after.
const memoSize = 256

// memo keeps values a page computed, by a key that names everything they
// depend on, so that a page read again before anything changed does not
// compute again. Its values are shared: pages must not change them.
type memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

func (c *memo[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *memo[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= memoSize {
		c.m = map[K]V{}
	}
	c.m[k] = v
}
