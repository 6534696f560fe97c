"""The peer for `make bench-digest`: matplotlib (Debian's python3-matplotlib, Agg) drawing the chart
digest-bench draws: 13 monthly points, Amber and Red lines, a context line, the latest point marked,
720x300 PNG. Prints one JSON line: median seconds per chart and the PNG's size."""
import io, json, statistics, time
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

xs = list(range(13))
ys = [180 + (i * 37) % 90 for i in xs]

def draw():
    fig, ax = plt.subplots(figsize=(7.2, 3.0), dpi=100)
    ax.plot(xs, ys, color="#1f4e79", linewidth=2.2, marker="o", markersize=3)
    ax.axhline(250, color="#d96b00", linestyle="--", linewidth=1.6)
    ax.axhline(300, color="#c62828", linestyle="--", linewidth=1.6)
    ax.axhline(231, color="#666673", linestyle=":", linewidth=1.3)
    ax.scatter([xs[-1]], [ys[-1]], s=60, color="#d96b00", zorder=3)
    ax.set_title("Children on child protection plans", loc="left", fontweight="bold")
    ax.set_ylim(0, 350)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()

draw()
times, png = [], b""
for _ in range(50):
    t = time.perf_counter()
    png = draw()
    times.append(time.perf_counter() - t)
print(json.dumps({"what": "one_chart_matplotlib", "median_s": statistics.median(times), "png_bytes": len(png),
                  "matplotlib": matplotlib.__version__}))
