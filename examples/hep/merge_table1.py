"""Table 1 from several ``toptag.py`` processes: each trained some methods (e.g. one process
per core, ``OMP_NUM_THREADS=1``) and wrote its ``details.json``; this writes ``metrics.json``
(method -> metric -> mean, std, number of seeds), ``table1.md`` and Fig. 2-3 for all of them.

    python examples/hep/merge_table1.py runs/part/details_*.json --out runs/part
    python examples/hep/merge_table1.py --redraw docs/top_tagging_part   # Fig. 2-3 from the
                                                       # table1_figures.json committed there

The same numbers as one ``toptag.py --resume`` run over all methods (which re-evaluates every
checkpoint), without the evaluations. A method found in two files is refused.
"""

import argparse
import json
import pathlib

try:  # the repository root is importable (imported as a module, or run from the root) ...
    import examples  # noqa: F401
except ImportError:  # ... or run as a script from elsewhere: examples/hep/_path.py adds it
    import _path  # noqa: F401


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("details", nargs="*", help="details.json files of toptag.py runs")
    ap.add_argument("--out", help="folder for metrics.json, table1.md, figures")
    ap.add_argument("--redraw", metavar="DIR", default=None,
                    help="train and merge nothing: redraw Fig. 2 and Fig. 3 in DIR from the "
                         "table1_figures.json there")
    args = ap.parse_args(argv)
    if args.redraw is not None:
        if args.details or args.out:
            ap.error("--redraw DIR takes no details files and no --out")
    elif not args.details or not args.out:
        ap.error("expected details.json files and --out (or --redraw DIR)")
    from examples.hep.evaluation.tagging import table1_markdown
    from examples.hep.studies.top_tagging import FIGURE_DATA, table1_figures, write_table1

    if args.redraw is not None:
        path = pathlib.Path(args.redraw) / FIGURE_DATA
        if not path.is_file():
            raise SystemExit(f"--redraw: expected {path} (written beside metrics.json by "
                             "toptag.py and merge_table1.py), found no such file")
        table1_figures(json.loads(path.read_text()), pathlib.Path(args.redraw))
        print(f"redrew Fig. 2 and Fig. 3 in {args.redraw}")
        return

    runs, seeds = {}, set()
    for path in args.details:
        table = json.loads(pathlib.Path(path).read_text()).get("table1")
        if not table:
            raise SystemExit(f"{path}: no Table 1 runs (run toptag.py with --studies table1)")
        for method, rs in table.items():
            if method in runs:
                raise SystemExit(f"{path}: method {method!r} is also in another file")
            runs[method] = rs
            seeds.add(len(rs))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metrics = write_table1(runs, out, seeds.pop() if len(seeds) == 1 else None)
    print(table1_markdown(metrics))


if __name__ == "__main__":
    main()
