//go:build bench

package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"sort"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// plotPerResource draws apply seconds per resource against N (log scale),
// one panel per K, for floor, stub, real and the socat loop.
func plotPerResource(path string, rows []row) error {
	series := []struct {
		name string
		c    color.RGBA
		get  func(row) time.Duration
	}{
		{"floor (terraform_data)", color.RGBA{120, 120, 120, 255}, func(r row) time.Duration { return r.floorApply }},
		{"stub (no sockets)", color.RGBA{40, 90, 200, 255}, func(r row) time.Duration { return r.stubApply }},
		{"real", color.RGBA{210, 40, 40, 255}, func(r row) time.Duration { return r.apply }},
		{"socat loop", color.RGBA{30, 150, 60, 255}, func(r row) time.Duration { return r.socat }},
	}
	byK := map[int][]row{}
	var ks []int
	for _, r := range rows {
		if _, ok := byK[r.k]; !ok {
			ks = append(ks, r.k)
		}
		byK[r.k] = append(byK[r.k], r)
	}
	sort.Ints(ks)
	const pw, ph, margin = 360, 300, 50
	img := image.NewRGBA(image.Rect(0, 0, pw*len(ks), ph+60))
	fill(img, img.Bounds(), color.RGBA{255, 255, 255, 255})

	// One y scale for every panel, so panels compare.
	maxY, minN, maxN := 0.0, math.Inf(1), 0.0
	for _, r := range rows {
		for _, s := range series {
			maxY = math.Max(maxY, s.get(r).Seconds()/float64(r.n)*1000)
		}
		minN, maxN = math.Min(minN, float64(r.n)), math.Max(maxN, float64(r.n))
	}
	if maxN == minN {
		maxN = minN * 10
	}
	maxY *= 1.1
	for pi, k := range ks {
		x0, y0 := pi*pw+margin, ph-20 // origin
		w, h := pw-margin-20, ph-60
		px := func(n float64) int {
			return x0 + int(float64(w)*(math.Log(n)-math.Log(minN))/(math.Log(maxN)-math.Log(minN)))
		}
		py := func(ms float64) int { return y0 - int(float64(h)*ms/maxY) }
		black := color.RGBA{0, 0, 0, 255}
		line(img, x0, y0, x0+w, y0, black)
		line(img, x0, y0, x0, y0-h, black)
		label(img, x0+w/2-40, 25, fmt.Sprintf("K = %d instance(s)", k), black)
		for i := 0; i <= 4; i++ {
			ms := maxY * float64(i) / 4
			line(img, x0-4, py(ms), x0, py(ms), black)
			label(img, x0-46, py(ms)+4, fmt.Sprintf("%5.1f", ms), black)
		}
		rs := byK[k]
		sort.Slice(rs, func(i, j int) bool { return rs[i].n < rs[j].n })
		for _, r := range rs {
			line(img, px(float64(r.n)), y0, px(float64(r.n)), y0+4, black)
			label(img, px(float64(r.n))-12, y0+17, fmt.Sprint(r.n), black)
		}
		label(img, x0+w/2-20, y0+32, "N (log)", black)
		for _, s := range series {
			for i, r := range rs {
				y := py(s.get(r).Seconds() / float64(r.n) * 1000)
				dot(img, px(float64(r.n)), y, s.c)
				if i > 0 {
					p := rs[i-1]
					line(img, px(float64(p.n)), py(s.get(p).Seconds()/float64(p.n)*1000), px(float64(r.n)), y, s.c)
				}
			}
		}
	}
	label(img, 8, 12, "ms of apply per resource", color.RGBA{0, 0, 0, 255})
	for i, s := range series {
		x := 10 + i*180
		fill(img, image.Rect(x, ph+35, x+14, ph+45), s.c)
		label(img, x+20, ph+45, s.name, color.RGBA{0, 0, 0, 255})
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func dot(img *image.RGBA, x, y int, c color.RGBA) {
	fill(img, image.Rect(x-3, y-3, x+4, y+4), c)
}

// line draws a two-pixel line from (x0,y0) to (x1,y1).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	steps := max(abs(x1-x0), abs(y1-y0), 1)
	for i := 0; i <= steps; i++ {
		x := x0 + (x1-x0)*i/steps
		y := y0 + (y1-y0)*i/steps
		img.SetRGBA(x, y, c)
		img.SetRGBA(x+1, y, c)
		img.SetRGBA(x, y+1, c)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func label(img *image.RGBA, x, y int, s string, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// plotPool draws the pool end to end: one panel per members × instances,
// one group of bars per Terraform run (floor, stub, pool), in seconds on the
// panel's own scale, so what each run costs above its floor shows at once.
func plotPool(path string, rows []poolRow) error {
	runs := []struct {
		name string
		get  func(e2e) time.Duration
	}{
		{"create", func(e e2e) time.Duration { return e.apply }},
		{"plan", func(e e2e) time.Duration { return e.plan }},
		{"plan -r=f", func(e e2e) time.Duration { return e.planNR }},
		{"change 1", func(e e2e) time.Duration { return e.change }},
		{"destroy", func(e e2e) time.Duration { return e.destroy }},
	}
	kinds := []struct {
		name string
		c    color.RGBA
		get  func(poolRow) e2e
	}{
		{"floor (terraform_data)", color.RGBA{120, 120, 120, 255}, func(r poolRow) e2e { return r.floor }},
		{"stub (no sockets)", color.RGBA{40, 90, 200, 255}, func(r poolRow) e2e { return r.stub }},
		{"pool", color.RGBA{210, 40, 40, 255}, func(r poolRow) e2e { return r.real }},
	}
	const pw, ph, margin = 400, 300, 50
	img := image.NewRGBA(image.Rect(0, 0, pw*max(len(rows), 1), ph+60))
	fill(img, img.Bounds(), color.RGBA{255, 255, 255, 255})
	black := color.RGBA{0, 0, 0, 255}
	for pi, r := range rows {
		x0, y0 := pi*pw+margin, ph-20
		w, h := pw-margin-20, ph-60
		maxY := 0.0
		for _, run := range runs {
			for _, k := range kinds {
				maxY = math.Max(maxY, run.get(k.get(r)).Seconds())
			}
		}
		maxY = math.Max(maxY*1.1, 0.01)
		py := func(s float64) int { return y0 - int(float64(h)*s/maxY) }
		line(img, x0, y0, x0+w, y0, black)
		line(img, x0, y0, x0, y0-h, black)
		label(img, x0+w/2-70, 25, fmt.Sprintf("%d members x %d instances", r.n, r.k), black)
		for i := 0; i <= 4; i++ {
			s := maxY * float64(i) / 4
			line(img, x0-4, py(s), x0, py(s), black)
			label(img, x0-46, py(s)+4, fmt.Sprintf("%5.1f", s), black)
		}
		group := w / len(runs)
		bar := (group - 10) / len(kinds)
		for gi, run := range runs {
			gx := x0 + gi*group + 5
			for ki, k := range kinds {
				x := gx + ki*bar
				fill(img, image.Rect(x, py(run.get(k.get(r)).Seconds()), x+bar-1, y0), k.c)
			}
			label(img, gx, y0+17, run.name, black)
		}
	}
	label(img, 8, 12, "seconds per terraform run", black)
	for i, k := range kinds {
		x := 10 + i*180
		fill(img, image.Rect(x, ph+35, x+14, ph+45), k.c)
		label(img, x+20, ph+45, k.name, black)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}
