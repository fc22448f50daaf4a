//go:build !linux

package cli

import (
	"context"
	"errors"

	"github.com/hushnet/hush/internal/devnet"
)

// devnetUpLab: the lab needs Linux network namespaces.
func (a *app) devnetUpLab(context.Context, devnet.Options, string, bool) error {
	return errors.New("devnet: --lab needs Linux (network namespaces)")
}
