package dataset

import (
	"path"

	"github.com/moatdev/moat/internal/store"
)

// Platform is a public dataset that moat imports from the shared data
// directory. Every org may read it.
type Platform struct {
	Name string
	// File is the source file relative to the directory of the Ethereum
	// sample data (shared_data in config.yaml).
	File        string
	Format      Format
	Schema      []store.Column
	Description string
}

// PlatformDatasets returns the public Ethereum datasets with their explicit
// schemas. Transaction amounts in wei are DECIMAL(38,0), which holds every
// value in the file exactly. Token transfer values are VARCHAR, because 127
// rows of the file are ERC-721 token ids of up to 78 digits (uint256), which
// DECIMAL(38,0) cannot hold. Queries cast them with value::BIGNUM (exact, any
// size) or value::DECIMAL(38,0) (ERC-20 amounts). block_timestamp (epoch
// seconds in the source) becomes a TIMESTAMP in UTC.
func PlatformDatasets() []Platform {
	return []Platform{
		{
			Name:   "ethereum.transactions",
			File:   "transactions_blocks_3300000-3302204.csv.gz",
			Format: FormatCSV,
			Schema: []store.Column{
				{Name: "hash", Type: "VARCHAR"},
				{Name: "nonce", Type: "BIGINT"},
				{Name: "block_hash", Type: "VARCHAR"},
				{Name: "block_number", Type: "BIGINT"},
				{Name: "transaction_index", Type: "INTEGER"},
				{Name: "from_address", Type: "VARCHAR"},
				{Name: "to_address", Type: "VARCHAR"},
				{Name: "value", Type: "DECIMAL(38,0)"},
				{Name: "gas", Type: "BIGINT"},
				{Name: "gas_price", Type: "DECIMAL(38,0)"},
				{Name: "input", Type: "VARCHAR"},
				{Name: "block_timestamp", Type: "TIMESTAMP"},
				{Name: "max_fee_per_gas", Type: "DECIMAL(38,0)"},
				{Name: "max_priority_fee_per_gas", Type: "DECIMAL(38,0)"},
				{Name: "transaction_type", Type: "INTEGER"},
			},
			Description: "Ethereum mainnet transactions of blocks 3,300,000 to 3,302,204 (2017-03-06); value and gas_price in wei; to_address is NULL for contract creations.",
		},
		{
			Name:   "ethereum.token_transfers",
			File:   "token_transfers_blocks_15320500-15320599.csv",
			Format: FormatCSV,
			Schema: []store.Column{
				{Name: "token_address", Type: "VARCHAR"},
				{Name: "from_address", Type: "VARCHAR"},
				{Name: "to_address", Type: "VARCHAR"},
				{Name: "value", Type: "VARCHAR"},
				{Name: "transaction_hash", Type: "VARCHAR"},
				{Name: "log_index", Type: "INTEGER"},
				{Name: "block_number", Type: "BIGINT"},
			},
			Description: "ERC-20 and ERC-721 Transfer events of Ethereum mainnet blocks 15,320,500 to 15,320,599 (August 2022); value is the exact uint256 as decimal text (token base units, or the token id for ERC-721): compare and sum it as value::BIGNUM.",
		},
	}
}

// OrgPath returns the directory of an org's dataset relative to the data
// directory. org and name must have passed ids.ValidateName and
// ids.ValidateDataset: they become path elements.
func OrgPath(org, name string) string {
	return path.Join("datasets", "org="+org, name)
}

// PublicPath returns the directory of a public dataset relative to the data
// directory. name must have passed ids.ValidateDataset.
func PublicPath(name string) string {
	return path.Join("datasets", "public", name)
}
