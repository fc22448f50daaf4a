//go:build slow

package nodeapi

import "github.com/hushnet/hush/internal/store/sqlite"

// With -tags slow the flood test runs at the store's default quota too.
func init() { floodQuota = sqlite.DefaultPublicMessages }
