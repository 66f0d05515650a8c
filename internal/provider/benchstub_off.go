//go:build !benchstub

package provider

// benchStub is false in every real build: see benchstub_on.go.
const benchStub = false
