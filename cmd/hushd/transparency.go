package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/hushnet/hush/protocol/transparency"
)

// printReport prints a server's transparency report in the shared format
// (protocol/transparency), for people or as JSON.
func printReport(w io.Writer, rep *transparency.Report, asJSON bool) error {
	if err := rep.Validate(); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	_, err := fmt.Fprint(w, rep.Text())
	return err
}

// reportCommand is a server's `transparency` subcommand: it prints what
// the server's data directory holds (DESIGN §10), reading the directory
// only. The data directory is --data, else the config's (--config), else
// the default.
type reportCommand[C any] struct {
	who      string // "node", "file server", ...
	short    string
	defaults func() C
	load     func(path string) (C, error)
	data     func(cfg *C) *string
	// check, when set, fails before any report when dir does not hold
	// the server's data.
	check  func(dir string) error
	report func(ctx context.Context, dir string, cfg C) (*transparency.Report, error)
}

func (r reportCommand[C]) command(stdout io.Writer) *cobra.Command {
	var (
		data, tconfig string
		asJSON        bool
	)
	def := r.defaults()
	cmd := &cobra.Command{
		Use:   "transparency",
		Short: r.short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := r.defaults()
			if tconfig != "" {
				var err error
				if cfg, err = r.load(tconfig); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("data") || tconfig == "" {
				*r.data(&cfg) = data
			}
			dir := *r.data(&cfg)
			if r.check != nil {
				if err := r.check(dir); err != nil {
					return err
				}
			}
			rep, err := r.report(cmd.Context(), dir, cfg)
			if err != nil {
				return err
			}
			return printReport(stdout, rep, asJSON)
		},
	}
	cmd.Flags().StringVar(&data, "data", *r.data(&def), "the "+r.who+"'s data directory")
	cmd.Flags().StringVar(&tconfig, "config", "", "the "+r.who+"'s TOML configuration (its log level and metrics; its data directory unless --data is given)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// dataDirExists is a reportCommand check: the data directory exists.
func dataDirExists(who string) func(dir string) error {
	return func(dir string) error {
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("no %s data directory: %w", who, err)
		}
		return nil
	}
}
