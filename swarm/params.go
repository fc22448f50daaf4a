package swarm

import (
	"errors"
	"fmt"
)

// ErrInvalidParams is returned, wrapped, by [Params.Validate] and [Update]
// when the swarm sizes cannot work.
var ErrInvalidParams = errors.New("invalid swarm parameters")

// AbsoluteMinSize is the smallest minimum swarm size hush accepts: a
// client counts a message as sent once two swarm members confirm it, and a
// swarm must survive losing one node after confirming.
const AbsoluteMinSize = 3

// Percentiles of the swarm-size distribution, fixed in oxen-core
// src/cryptonote_core/service_node_rules.h.
const (
	fillLowerPercentile           = 25 // FILL_SWARM_LOWER_PERCENTILE: new nodes go here
	redistributionLowerPercentile = 0  // DECOMMISSIONED_REDISTRIBUTION_LOWER_PERCENTILE
	stealingUpperPercentile       = 75 // STEALING_SWARM_UPPER_PERCENTILE: donors come from above here
)

// Params are the swarm sizes the assignment aims for.
type Params struct {
	// MinSize is the size below which a swarm is starving: it steals nodes
	// or is dissolved (oxen MIN_SWARM_SIZE, 5). It is also the base above
	// which nodes count as excess (EXCESS_BASE).
	MinSize int
	// IdealSize is the size of a newly created swarm (oxen IDEAL_SWARM_SIZE
	// and NEW_SWARM_SIZE, 7); IdealSize-MinSize is the margin every
	// existing swarm keeps before a new one is split off (IDEAL_SWARM_MARGIN).
	IdealSize int
}

// DefaultParams returns oxen's sizes: minimum 5, ideal 7.
func DefaultParams() Params { return Params{MinSize: 5, IdealSize: 7} }

// DevnetParams returns the sizes for a small local network: minimum 3, ideal 4.
func DevnetParams() Params { return Params{MinSize: 3, IdealSize: 4} }

// Validate reports whether the sizes can work: the minimum at least
// [AbsoluteMinSize] and the ideal size at least the minimum.
func (p Params) Validate() error {
	if p.MinSize < AbsoluteMinSize {
		return fmt.Errorf("%w: minimum size %d is below %d", ErrInvalidParams, p.MinSize, AbsoluteMinSize)
	}
	if p.IdealSize < p.MinSize {
		return fmt.Errorf("%w: ideal size %d is below minimum size %d", ErrInvalidParams, p.IdealSize, p.MinSize)
	}
	return nil
}

func (p Params) excessBase() int   { return p.MinSize }
func (p Params) newSwarmSize() int { return p.IdealSize }
func (p Params) idealMargin() int  { return p.IdealSize - p.MinSize }
