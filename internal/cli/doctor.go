package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/moatdev/moat/internal/config"
	"github.com/moatdev/moat/internal/doctor"
)

func newDoctorCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check that this host can run sandboxes safely, and say how to fix what is missing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(g.dataDir)
			if err != nil {
				return err
			}
			checks := doctor.Run(cmd.Context(), doctor.Options{RuncPath: cfg.RuncPath, DataDir: cfg.DataDir})

			failed := 0
			for _, c := range checks {
				fmt.Printf("%-4s  %-22s %s\n", c.Status, c.Name, c.Detail)
				if c.Status != "ok" && c.Fix != "" {
					fmt.Printf("      %-22s fix: %s\n", "", c.Fix)
				}
				if c.Status == "fail" {
					failed++
				}
			}
			if failed > 0 {
				fmt.Fprintf(os.Stderr, "%d check(s) failed\n", failed)
				return &exitError{code: 1}
			}
			return nil
		},
	}
}
