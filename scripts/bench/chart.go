package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
)

// The suite's chart is drawn by hand with image/png: one group of bars per
// workload (a bar per target, as a share of the group's largest median)
// and the group's number below it, in a 3x5 pixel digit font.

var (
	chartColors = map[string]color.RGBA{
		targetSamsa:     {0x1f, 0x77, 0xb4, 0xff},
		targetKfake:     {0xff, 0x7f, 0x0e, 0xff},
		targetKfakeDisk: {0x2c, 0xa0, 0x2c, 0xff},
		targetNATS:      {0xd6, 0x27, 0x28, 0xff},
	}
	chartGrid       = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	chartInk        = color.RGBA{0x33, 0x33, 0x33, 0xff}
	chartLatencyBed = color.RGBA{0xf0, 0xf0, 0xf0, 0xff}
)

// digitGlyphs are 3x5 bitmaps of 0-9, one string per row.
var digitGlyphs = [10][5]string{
	{"###", "#.#", "#.#", "#.#", "###"}, {".#.", "##.", ".#.", ".#.", "###"},
	{"###", "..#", "###", "#..", "###"}, {"###", "..#", "###", "..#", "###"},
	{"#.#", "#.#", "###", "..#", "..#"}, {"###", "#..", "###", "..#", "###"},
	{"###", "#..", "###", "#.#", "###"}, {"###", "..#", "..#", "..#", "..#"},
	{"###", "#.#", "###", "#.#", "###"}, {"###", "#.#", "###", "..#", "###"},
}

const (
	chartBar    = 9
	chartGap    = 14
	chartHeight = 220
	chartMargin = 20
	chartScale  = 2 // digit pixel size
)

// chartRows are the rows the chart shows: every records/s row, then every
// end-to-end p99 row, each only if at least two targets have a figure for
// it (the chart compares).
func chartRows(r *suiteResults) []suiteRow {
	var throughput, latency []suiteRow
	for _, row := range r.rows {
		measured := 0
		for _, cell := range r.cells[row.name] {
			if suiteMeasured(cell) {
				measured++
			}
		}
		switch {
		case measured < 2:
		case row.limit != noLimit && !strings.Contains(row.name, "tenth"):
			throughput = append(throughput, row)
		case strings.HasPrefix(row.name, "e2e") && strings.HasSuffix(row.name, " p99 (ms)"):
			latency = append(latency, row)
		}
	}
	return append(throughput, latency...)
}

func writeChart(path string, r *suiteResults) error {
	rows := chartRows(r)
	groupWidth := len(suiteTargetNames)*chartBar + chartGap
	width := 2*chartMargin + len(rows)*groupWidth
	height := chartHeight + 2*chartMargin + 8*chartScale
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fill(img, img.Bounds(), color.RGBA{0xff, 0xff, 0xff, 0xff})
	base := chartMargin + chartHeight
	for i, row := range rows {
		x := chartMargin + i*groupWidth
		if row.lowerBetter {
			fill(img, image.Rect(x-chartGap/2, chartMargin, x+groupWidth-chartGap/2, base), chartLatencyBed)
		}
	}
	for quarter := 0; quarter <= 4; quarter++ {
		y := base - quarter*chartHeight/4
		fill(img, image.Rect(chartMargin/2, y, width-chartMargin/2, y+1), chartGrid)
	}
	for i, row := range rows {
		x := chartMargin + i*groupWidth
		drawGroup(img, x, base, r.cells[row.name])
		drawNumber(img, x, base+4*chartScale, i+1)
	}
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing chart: %w", err)
	}
	if err := png.Encode(file, img); err != nil {
		file.Close()
		return fmt.Errorf("encoding chart: %w", err)
	}
	return file.Close()
}

// drawGroup draws one bar per measured target, scaled to the largest.
func drawGroup(img *image.RGBA, x, base int, cells map[string]*suiteCell) {
	largest := 0.0
	medians := map[string]float64{}
	for _, name := range suiteTargetNames {
		if cell := cells[name]; suiteMeasured(cell) {
			medians[name], _ = summarize(cell.values)
			largest = max(largest, medians[name])
		}
	}
	if largest <= 0 {
		return
	}
	for j, name := range suiteTargetNames {
		value, ok := medians[name]
		if !ok {
			continue
		}
		height := max(int(value/largest*chartHeight), 1)
		left := x + j*chartBar
		fill(img, image.Rect(left, base-height, left+chartBar-1, base), chartColors[name])
	}
}

func drawNumber(img *image.RGBA, x, y, n int) {
	for i, digit := range fmt.Sprint(n) {
		glyph := digitGlyphs[digit-'0']
		for row, bits := range glyph {
			for column, bit := range bits {
				if bit != '#' {
					continue
				}
				left := x + i*4*chartScale + column*chartScale
				top := y + row*chartScale
				fill(img, image.Rect(left, top, left+chartScale, top+chartScale), chartInk)
			}
		}
	}
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}
