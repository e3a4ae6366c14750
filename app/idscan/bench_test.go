package idscan

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// people varies the data on the generated licences.
var people = []person{
	testPerson,
	{first: "JOHN", middle: "PAUL", last: "SMITH-JONES", dob: [3]int{1972, 11, 3}, issue: [3]int{2019, 2, 14}, expiry: [3]int{2027, 11, 3},
		street: "4500 ELM AVE APT 12", city: "AUSTIN", state: "TX", postal: "787011234", number: "12345678", sex: "1"},
	{first: "MARIE", middle: "", last: "TREMBLAY", dob: [3]int{1990, 1, 30}, issue: [3]int{2022, 9, 9}, expiry: [3]int{2027, 1, 30},
		street: "1200 ROBSON ST", city: "VANCOUVER", state: "BC", postal: "V6E1C1", number: "7654321", sex: "2"},
	{first: "ALEXANDER", middle: "J", last: "O'BRIEN", dob: [3]int{1964, 7, 19}, issue: [3]int{2020, 7, 19}, expiry: [3]int{2028, 7, 19},
		street: "77 KING ST W", city: "TORONTO", state: "ON", postal: "M5K1A1", number: "O1234-56789-40719", sex: "1"},
}

// rateCase returns the i-th photo of the decode-rate set: one of the four
// people, AAMVA version 1, 3, 8 or 10, rotated by -20..+20 degrees (every
// fifth upside down), the card filling 45-85% of the width, off-centre,
// blurred, noisy and JPEG-compressed at quality 70-85.
func rateCase(i int) photoCase {
	rng := rand.New(rand.NewPCG(uint64(i)+1000, 42))
	p := people[i%len(people)]
	versions := []int{1, 3, 8, 10}
	v := versions[(i/len(people))%len(versions)]
	iin, canadian := "636014", false
	switch p.state {
	case "TX":
		iin = "636015"
	case "BC":
		iin, canadian = "636028", true
	case "ON":
		iin, canadian = "636012", true
	}
	angle := -20 + 40*rng.Float64()
	if i%5 == 4 {
		angle += 180
	}
	sizes := [][2]int{{1024, 768}, {1280, 960}, {1600, 1200}, {2000, 1500}}
	sz := sizes[rng.IntN(len(sizes))]
	return photoCase{
		name:    fmt.Sprintf("case%02d_v%d_%s_%.1fdeg", i, v, p.state, angle),
		payload: licencePayload(p, v, iin, canadian).build(),
		shot: shot{
			w: sz[0], h: sz[1], angle: angle,
			cardFrac: 0.45 + 0.4*rng.Float64(),
			dx:       (rng.Float64() - 0.5) * 0.12, dy: (rng.Float64() - 0.5) * 0.12,
			blur:    rng.IntN(3),
			noise:   3 + 7*rng.Float64(),
			quality: 70 + rng.IntN(16),
			seed:    uint64(i) + 1,
		},
		module: 2 + rng.IntN(3),
		ec:     byte(3 + rng.IntN(3)),
	}
}

// photoSet generates n rate-set photos on all cores.
func photoSet(tb testing.TB, n int) [][]byte {
	out := make([][]byte, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = makePhoto(tb, rateCase(i))
		}()
	}
	wg.Wait()
	return out
}

// BenchmarkDecodeRate decodes 60 generated photos with varied transforms
// per iteration and reports the fraction decoded to the exact payload.
func BenchmarkDecodeRate(b *testing.B) {
	const n = 60
	photos := photoSet(b, n)
	b.ResetTimer()
	var rate float64
	for b.Loop() {
		ok := 0
		for i, ph := range photos {
			got, err := ScanImage(ph)
			if err == nil && bytes.Equal(got, rateCase(i).payload) {
				ok++
			} else if testing.Verbose() {
				b.Logf("not decoded: %s (%v)", rateCase(i).name, err)
			}
		}
		rate = float64(ok) / n
	}
	b.ReportMetric(rate, "decoded/total")
}

// BenchmarkDecode12MP decodes a 4000x3000 photo of a card rotated by 13°.
func BenchmarkDecode12MP(b *testing.B) {
	c := photoCase{
		payload: licencePayload(testPerson, 10, "636014", false).build(),
		shot:    shot{w: 4000, h: 3000, angle: 13, cardFrac: 0.6, dx: 0.04, dy: -0.03, blur: 2, noise: 5, quality: 80, seed: 12},
		module:  6,
		ec:      5,
	}
	photo := makePhoto(b, c)
	b.SetBytes(int64(len(photo)))
	b.ResetTimer()
	for b.Loop() {
		got, err := ScanImage(photo)
		if err != nil || !bytes.Equal(got, c.payload) {
			b.Fatalf("12 MP photo not decoded: %v", err)
		}
	}
}
