package cli

import (
	"encoding/json"
	"math"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hushnet/hush/client"
	"github.com/hushnet/hush/client/callrtc"
)

// startTURN starts a pion TURN server on loopback for the scripts' calls
// (the standalone node has none) and returns the JSON for envTestICE.
func startTURN(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const user, secret = "hush", "script secret"
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: "hush",
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, secret), ra.Username == user
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            pc,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.ParseIP("127.0.0.1"), Address: "127.0.0.1"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	b, err := json.Marshal([]client.ICEServer{{
		URLs: []string{"turn:" + pc.LocalAddr().String() + "?transport=udp"}, Username: user, Credential: secret,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// callCmds are the scripts' commands for calls.
var callCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// tone FILE HZ SECONDS: a WAV file of a sine.
	"tone": func(ts *testscript.TestScript, neg bool, args []string) {
		hz, err := strconv.ParseFloat(args[1], 64)
		ts.Check(err)
		secs, err := strconv.ParseFloat(args[2], 64)
		ts.Check(err)
		f, err := os.Create(ts.MkAbs(args[0]))
		ts.Check(err)
		ts.Check(callrtc.WriteWAV(f, callrtc.Tone(hz, secs, 0.5)))
		ts.Check(f.Close())
	},
	// dominant FILE HZ: the WAV file holds at least a second of sound
	// whose dominant frequency (Goertzel, 200–2000 Hz by 10) is HZ.
	"dominant": func(ts *testscript.TestScript, neg bool, args []string) {
		f, err := os.Open(ts.MkAbs(args[0]))
		ts.Check(err)
		s, err := callrtc.ReadWAV(f)
		f.Close()
		ts.Check(err)
		// The loudest second: the tone, not the silence around it.
		var best []int16
		bestE := -1.0
		for i := 0; i+callrtc.SampleRate <= len(s); i += callrtc.SampleRate / 10 {
			var e float64
			for _, x := range s[i : i+callrtc.SampleRate] {
				e += float64(x) * float64(x)
			}
			if e > bestE {
				best, bestE = s[i:i+callrtc.SampleRate], e
			}
		}
		if best == nil {
			ts.Fatalf("%s: %d samples, want at least a second", args[0], len(s))
		}
		want, err := strconv.ParseFloat(args[1], 64)
		ts.Check(err)
		got := callrtc.DominantFrequency(best, 200, 2000, 10)
		if (math.Abs(got-want) < 1) == neg {
			ts.Fatalf("%s: dominant frequency %v Hz", args[0], got)
		}
	},
	// waitfile PATH: wait until PATH exists (a background command's
	// state), with a generous deadline.
	"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
		deadline := time.Now().Add(time.Minute)
		for {
			if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("%s did not appear", args[0])
			}
			time.Sleep(20 * time.Millisecond)
		}
	},
}

// withCalls adds callCmds to the scripts' commands.
func withCalls(m map[string]func(ts *testscript.TestScript, neg bool, args []string)) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	for k, v := range callCmds {
		m[k] = v
	}
	return m
}
