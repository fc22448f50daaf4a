package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// printList is the output of every list command (chats, contacts,
// requests, devices, storage's conversations): with --json the items as
// one JSON array, empty rather than null; otherwise the empty text when
// there are none, else one line per item whose cells are aligned with
// tabs, so scripts can still split a line on them.
func printList[T any](a *app, items []T, empty string, cells func(T) []string) error {
	if a.jsonOut {
		if items == nil {
			items = []T{}
		}
		return a.printJSON(items)
	}
	if len(items) == 0 {
		if empty != "" {
			fmt.Fprintln(a.stdout, empty)
		}
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 8, 1, '\t', 0)
	for _, it := range items {
		fmt.Fprintln(tw, strings.Join(cells(it), "\t"))
	}
	return tw.Flush()
}
