package cli

// attachmentsBuilt: see media_build_test.go.
const attachmentsBuilt = true
