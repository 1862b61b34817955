package sqlite

// Migrations are the schema migrations, for tests that build a store as an
// older release left it.
func Migrations() []string { return migrations }
