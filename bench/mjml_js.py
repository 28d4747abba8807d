"""The MJML step against MJML's own JavaScript compiler, and the whole render pipeline beside it.

Run from the repository: python bench/mjml_js.py --mjml-js /path/to/node_modules [--rounds 30]
(MJML JS: `npm install mjml` in a folder of your choice, then pass its node_modules; needs node.)
The six sample editions (both sample issues × en/de/ru) are rendered once to capture the MJML each
hands to the compiler; then, in alternating rounds so that a machine shared with other work slows
both alike, each source is compiled by mjml-python (mrml, what `render` uses, `fonts={}`) in this
process and by MJML JS (`await mjml2html(source, {fonts: {}})`: MJML 5 answers with a promise) in one
node process, both timed per compile after a warm-up, start-up excluded. The whole pipeline per edition
(bench/render.py's `one_edition`: parse → HTML + text + MIME) is timed in the same rounds. Prints the
medians and how many times faster each of ours is than MJML JS's compile.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from render import EDITIONS, one_edition  # noqa: E402

NODE = """
const mjml2html = require(process.argv[2] + '/mjml');
const sources = JSON.parse(require('fs').readFileSync(process.argv[3], 'utf8'));
const rounds = Number(process.argv[4]);
(async () => {
  // MJML 5's mjml2html returns a promise (4's the result): awaited, each compile is timed to its end.
  for (const source of sources) await mjml2html(source, {fonts: {}});  // warm-up
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    for (const source of sources) {
      const start = process.hrtime.bigint();
      const result = await mjml2html(source, {fonts: {}});
      if (!result.html) throw new Error('no html');
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  console.log(JSON.stringify(samples));
})();
"""


def mjml_sources(settings) -> list[str]:
    """The MJML each sample edition hands to the compiler."""
    import mjml

    captured = []
    original = mjml.mjml2html

    def capture(source, **options):
        captured.append(source)
        return original(source, **options)

    mjml.mjml2html = capture
    try:
        for issue_id, language in EDITIONS:
            one_edition(settings, issue_id, language)
    finally:
        mjml.mjml2html = original
    return captured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mjml-js", required=True, type=Path, help="node_modules holding mjml")
    parser.add_argument("--rounds", type=int, default=30, help="rounds over the six editions, each side (default 30)")
    parser.add_argument("--pairs", type=int, default=3, help="alternating pairs of runs (default 3)")
    args = parser.parse_args()
    from mjml import mjml2html

    from mco_newsletter.config import load_settings

    version = json.loads((args.mjml_js / "mjml" / "package.json").read_text())["version"]
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    print(f"machine: {platform.node()} {platform.machine()} · {os.cpu_count()} cores · Python "
          f"{platform.python_version()} · node {node} · MJML JS {version} · load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    settings = load_settings(REPO)
    sources = mjml_sources(settings)
    print(f"{len(sources)} editions, MJML sources {min(map(len, sources)):,}–{max(map(len, sources)):,} characters")
    ours, pipeline, theirs = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sources.json"
        path.write_text(json.dumps(sources), encoding="utf-8")
        script = Path(folder) / "compile.js"
        script.write_text(NODE, encoding="utf-8")
        for pair in range(args.pairs):
            for side in (("ours", "js") if pair % 2 == 0 else ("js", "ours")):
                if side == "js":
                    done = subprocess.run(["node", str(script), str(args.mjml_js.resolve()), str(path),
                                           str(args.rounds)], capture_output=True, text=True, check=True)
                    theirs += json.loads(done.stdout)
                    continue
                for _ in range(args.rounds):
                    for source in sources:
                        start = time.perf_counter()
                        mjml2html(source, fonts={})
                        ours.append((time.perf_counter() - start) * 1000)
                    for issue_id, language in EDITIONS:
                        start = time.perf_counter()
                        one_edition(settings, issue_id, language)
                        pipeline.append((time.perf_counter() - start) * 1000)
    js = statistics.median(theirs)
    for name, samples in (("mjml-python (mrml) compile", ours), ("whole pipeline per edition", pipeline)):
        median = statistics.median(samples)
        print(f"{name}: median {median:.2f} ms over {len(samples)}; MJML JS compile median {js:.2f} ms over "
              f"{len(theirs)} → {js / median:.2f}× faster than MJML JS")


if __name__ == "__main__":
    main()
