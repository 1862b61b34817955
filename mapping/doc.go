// Package mapping holds channelhub's canonical model — the one shape every
// connector emits — and the pure normalisers that bring platform values into it:
// phone numbers to E.164 with a salted hash for matching, gender codes, money in
// fen, and times in Asia/Shanghai.
//
// The package does no I/O, reads no clock and keeps no global mutable state:
// every function takes what it needs (a salt, a location) as an argument, so
// results are the same on every machine and in every test.
package mapping
