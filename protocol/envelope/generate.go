package envelope

// envelope.pb.go is generated from envelope.proto and committed, so building
// and testing need no protobuf compiler. To regenerate after editing the
// schema, with protoc on PATH, run `go generate` in this directory: the first
// line installs protoc-gen-go at the version go.mod pins (v1.36.12), the
// second runs protoc. TestGeneratedCodeIsFresh fails when the committed file
// is stale, whenever protoc is available.
//
//go:generate go install google.golang.org/protobuf/cmd/protoc-gen-go
//go:generate protoc --go_out=. --go_opt=paths=source_relative envelope.proto
