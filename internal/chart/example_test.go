package chart_test

import (
	"bytes"
	"fmt"
	"math/big"

	"github.com/cointrail/cointrail/internal/chart"
	"github.com/cointrail/cointrail/internal/trace"
)

func ExampleBars() {
	svg := chart.Bars(chart.BarChart{
		Title: "Incidents by victim type",
		Bars: []chart.Bar{
			{Label: "exchange", Value: 120, Href: "/incidents?victim_type=exchange"},
			{Label: "bridge", Value: 30},
		},
	})
	fmt.Println(bytes.Count(svg, []byte(`<rect class="bar"`)), "bars,", bytes.Count(svg, []byte("<a ")), "link")
	// Output: 2 bars, 1 link
}

func ExampleFlow() {
	res := &trace.Result{
		Endpoints: []trace.Endpoint{{Address: "bc1qexchange", Entity: "Exchange X", Category: "exchange", Amount: trace.Amount{Int: big.NewInt(700)}}},
		Edges: []trace.Edge{
			{Tx: "t1", From: []string{"bc1qthief"}, To: "bc1qhop", Amount: trace.Amount{Int: big.NewInt(990)}, Hop: 1},
			{Tx: "t2", From: []string{"bc1qhop"}, To: "bc1qexchange", Amount: trace.Amount{Int: big.NewInt(700)}, Hop: 2},
		},
	}
	svg := chart.Flow(res, chart.FlowOptions{Unit: "sat"})
	fmt.Println(bytes.Count(svg, []byte(`<path class="band"`)), "bands")
	fmt.Println(bytes.Contains(svg, []byte("Exchange X (exchange)")), bytes.Contains(svg, []byte("700 sat")))
	// Output:
	// 2 bands
	// true true
}
