"""Derive resources/concepts/imagenet_concepts.json once (not needed at run time).

Inputs (install only while running this script):
- the timm wheel (`pip install timm`): `timm/data/_info/imagenet_synsets.txt` (the 1000 WordNet ids
  in model class order), `imagenet_synset_to_lemma.txt`, `imagenet_synset_to_definition.txt`;
- Debian `wordnet-base`: `/usr/share/wordnet/data.noun` (WordNet 3.0 nouns with hypernym pointers).

A noun synset's id `n01234567` is its line's byte offset in data.noun. Each class's chain follows
the first hypernym pointer (`@`, or `@i` for instances) up to "entity" (n00001740).

Usage: python tools/derive_concepts.py [--timm-info DIR] [--wordnet FILE] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

ROOT_WNID = "n00001740"
DEFAULT_WORDNET = Path("/usr/share/wordnet/data.noun")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "resources" / "concepts" / "imagenet_concepts.json"

# Names a caption can say, where WordNet's first lemma is ambiguous, technical or odd.
# Keys are WordNet ids; values are the display names. Kept short on purpose.
NAME_OVERRIDES = {
    # ImageNet repeats these lemmas for two different classes.
    "n02012849": "crane (bird)",
    "n03126707": "crane (machine)",
    "n03710637": "maillot (tights)",
    "n03710721": "maillot (swimsuit)",
    # Latin binomials, archaic or technical first lemmas, and words a caption needs a noun for.
    "n02074367": "dugong",  # Dugong dugon
    "n02398521": "hippopotamus",  # Hippopotamus amphibius
    "n02480855": "gorilla",  # Gorilla gorilla
    "n02500267": "indri",  # Indri indri
    "n02497673": "ring-tailed lemur",  # Madagascar cat
    "n01514668": "rooster",  # cock
    "n02395406": "pig",  # hog
    "n02389026": "sorrel horse",  # sorrel
    "n02134084": "polar bear",  # ice bear
    "n03594734": "jeans",  # jean
    "n03595614": "T-shirt",  # jersey
    "n04243546": "slot machine",  # slot
    "n07873807": "pizza",  # pizza pie
    "n07697537": "hot dog",  # hotdog
    "n13133613": "ear of corn",  # ear
    "n12620546": "rose hip",  # hip
    "n03929660": "guitar pick",  # pick
    "n04118776": "ruler",  # rule
    "n04141076": "saxophone",  # sax
    "n04554684": "washing machine",  # washer
    "n04404412": "television",  # television system
    "n04350905": "suit",  # suit of clothes
    "n04005630": "prison",  # prison house
    "n04367480": "mop",  # swab
    "n06359193": "website",  # web site
    "n03028079": "church",  # church building
    "n03793489": "computer mouse",  # mouse
    "n03782006": "computer monitor",  # monitor
    "n02814533": "station wagon",  # beach wagon
    "n02747177": "trash can",  # ashcan
    "n02788148": "banister",  # bannister
    "n02325366": "cottontail rabbit",  # wood rabbit
    "n02276258": "admiral butterfly",  # admiral
    "n03680355": "loafer",  # Loafer
    "n02892201": "memorial plaque",  # brass
    "n03673027": "ocean liner",  # liner
    "n02930766": "taxi",  # cab
    "n04152593": "computer screen",  # screen
    "n04037443": "race car",  # racer
    "n02509815": "red panda",  # lesser panda
    "n01817953": "African grey parrot",  # African grey
    "n01847000": "drake duck",  # drake
    "n01871265": "tusker elephant",  # tusker
    "n07579787": "plate of food",  # plate (a main course served on a plate)
}


def timm_info_dir() -> Path:
    """timm's ImageNet metadata folder (the wheel ships it as package data)."""
    spec = importlib.util.find_spec("timm")
    if spec is None or spec.origin is None:
        raise SystemExit("timm is not installed: `pip install timm` while running this script")
    return Path(spec.origin).parent / "data" / "_info"


def read_tsv(path: Path) -> dict[str, str]:
    return dict(line.rstrip("\n").split("\t", 1) for line in path.open(encoding="utf-8") if "\t" in line)


class WordNetNouns:
    """Random access to WordNet's data.noun by synset offset."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")

    def entry(self, wnid: str) -> tuple[list[str], list[str]]:
        """(lemmas, hypernym wnids in file order) of one noun synset."""
        offset = int(wnid[1:])
        self._file.seek(offset)
        line = self._file.readline().decode("utf-8")
        fields = line.split(" | ")[0].split()
        if fields[0] != wnid[1:] or fields[2] != "n":
            raise ValueError(f"{wnid} is not a noun synset at its offset in data.noun")
        count = int(fields[3], 16)
        lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(count)]
        pos = 4 + 2 * count
        pointers = int(fields[pos])
        hypernyms = []
        for i in range(pointers):
            symbol, target, part = fields[pos + 1 + 4 * i: pos + 4 + 4 * i]
            if symbol in ("@", "@i") and part == "n":
                hypernyms.append("n" + target)
        return lemmas, hypernyms

    def chain(self, wnid: str) -> list[str]:
        """Hypernym wnids from the synset's parent up to entity, following first pointers."""
        out: list[str] = []
        current = wnid
        while current != ROOT_WNID:
            parents = self.entry(current)[1]
            if not parents:
                raise ValueError(f"{current} has no hypernym but is not entity")
            current = parents[0]
            out.append(current)
        return out


def display_name(wnid: str, lemmas: list[str]) -> str:
    """A name a caption can say: an override, else the first lemma, extended when a later
    lemma only adds to it ("tabby" -> "tabby cat", "Cardigan" -> "Cardigan Welsh corgi")."""
    if wnid in NAME_OVERRIDES:
        return NAME_OVERRIDES[wnid]
    first = lemmas[0]
    if " " not in first:
        for other in lemmas[1:]:
            if other.lower().startswith(first.lower() + " ") and len(other.split()) <= 3:
                return other
    return first


def derive(info: Path, wordnet: Path) -> dict:
    wnids = [line.strip() for line in (info / "imagenet_synsets.txt").open() if line.strip()]
    if len(wnids) != 1000:
        raise SystemExit(f"expected 1000 ImageNet-1k synsets, found {len(wnids)}")
    lemma_text = read_tsv(info / "imagenet_synset_to_lemma.txt")
    definitions = read_tsv(info / "imagenet_synset_to_definition.txt")
    nouns = WordNetNouns(wordnet)
    classes = []
    chains: dict[str, list[str]] = {}
    for index, wnid in enumerate(wnids):
        lemmas = [s.strip() for s in lemma_text[wnid].split(",") if s.strip()]
        name = display_name(wnid, lemmas)
        chains[wnid] = nouns.chain(wnid)
        classes.append({
            "index": index,
            "wnid": wnid,
            "name": name,
            "synonyms": [s for s in lemmas if s != name],
            "definition": definitions[wnid].strip(),
            "hypernyms": chains[wnid],
        })
    names = [c["name"].lower() for c in classes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SystemExit(f"display names repeat; add overrides for: {duplicates}")
    leaves = set(wnids)
    nodes: dict[str, dict] = {}
    for c in classes:
        chain = chains[c["wnid"]]
        if leaves & set(chain):
            raise SystemExit(f"class {c['wnid']} has another class as an ancestor")
        nodes[c["wnid"]] = {"name": c["name"], "depth": len(chain)}
        for depth_from_leaf, node in enumerate(chain, start=1):
            if node not in nodes:
                nodes[node] = {"name": nouns.entry(node)[0][0], "depth": len(chain) - depth_from_leaf}
    return {"version": 1, "root": ROOT_WNID, "classes": classes, "nodes": nodes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timm-info", type=Path, default=None)
    parser.add_argument("--wordnet", type=Path, default=DEFAULT_WORDNET)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    data = derive(args.timm_info or timm_info_dir(), args.wordnet)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {args.out}: {len(data['classes'])} classes, {len(data['nodes'])} nodes")


if __name__ == "__main__":
    main()
