"""The engine registry: one declarative entry per engine.

Everything else (the pipeline, the command line, the web page through the
generated engines.json) reads engines from here, so adding an engine means
adding one entry to ENGINES and nothing else.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .sources import RMBG_QUANTIZED

MODEL_INPUT = (1024, 1024)  # (width, height) the IS-Net family expects


@dataclass(frozen=True)
class Engine:
    id: str
    label: str
    model: str
    summary: str
    choose_when: tuple[str, ...]
    # The engine guide's comparison rows, shown to users as they are.
    guide: dict[str, str]
    file: str  # file name of the model, in the site's models/ folder and in caches
    # Where the browser fetches the model from. A relative URL means the site
    # serves its own copy (self-hosted); an absolute one is fetched at run time.
    source: str
    size: int | None  # exact bytes, where pinned (every engine is, today)
    sha256: str | None  # where pinned; otherwise recorded at first download
    license: str
    license_url: str
    input_size: tuple[int, int] = MODEL_INPUT
    # The authors' normalisation: x/255, then (x - mean) / std per channel.
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    # How to read the first output: "sigmoid-minmax" = already a probability
    # map, min-max normalised as in both reference codes (see tensors.py).
    output: str = "sigmoid-minmax"
    approx_mb: int = 0

    @property
    def self_hosted(self) -> bool:
        return "://" not in self.source

    def to_json(self) -> dict:
        d = asdict(self)
        d["self_hosted"] = self.self_hosted
        return d


ISNET_LICENSE = (
    "AGPL-3.0 (@imgly/background-removal-data); ISNet weights from "
    "xuebinqin/DIS under Apache-2.0"
)

ENGINES: tuple[Engine, ...] = (
    Engine(
        id="precision",
        label="Precision",
        model="ISNet, fp16 weights",
        summary="Best edges, hair and fur. Can wait a moment longer.",
        choose_when=(
            "e-commerce product photos",
            "hair, fur, lace",
            "when quality matters most",
        ),
        guide={
            "Model size": "~84 MB",
            "Quality": "Excellent",
            "Speed": "Medium",
            "Edge detail": "Best-in-class",
            "Hair/Fur": "Excellent",
            "Transparent objects": "Good",
            "Memory": "Higher",
        },
        file="isnet-fp16.onnx",
        source="models/isnet-fp16.onnx",
        size=88_188_479,
        sha256="b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb",
        license=ISNET_LICENSE,
        license_url="licenses/imgly-background-removal-data.md",
        approx_mb=84,
    ),
    Engine(
        id="balanced",
        label="Balanced",
        model="BRIA RMBG-1.4, quantized",
        summary="A good all-round engine for varied images. The safe default.",
        choose_when=(
            "varied images",
            "a good all-round engine",
            "not sure which engine to pick",
        ),
        guide={
            "Model size": "~44 MB",
            "Quality": "Very Good",
            "Speed": "Fast",
            "Edge detail": "Very Good",
            "Hair/Fur": "Good",
            "Transparent objects": "Fair",
            "Memory": "Moderate",
        },
        file="rmbg-1.4-quantized.onnx",
        # Not in any package registry, and its host may ask visitors to accept
        # BRIA's license first: fetched at run time unless a build embeds a copy.
        # Pinned at a fixed revision, so no copy is trusted on first use.
        source=RMBG_QUANTIZED.host + RMBG_QUANTIZED.path,
        size=44_403_226,
        sha256="a6648479275dfd0ede0f3a8abc20aa5c437b394681b05e5af6d268250aaf40f3",
        license="BRIA RMBG-1.4 license: non-commercial use only",
        license_url="https://huggingface.co/briaai/RMBG-1.4",
        approx_mb=44,
    ),
    Engine(
        id="lightweight",
        label="Lightweight",
        model="ISNet, uint8 weights",
        summary="Fastest and smallest, low memory, simple edges.",
        choose_when=(
            "slow connections",
            "older devices and mobile browsers with little memory",
            "batch work where speed matters",
            "simple edges",
        ),
        guide={
            "Model size": "~42 MB",
            "Quality": "Good",
            "Speed": "Fastest",
            "Edge detail": "Good",
            "Hair/Fur": "Acceptable",
            "Transparent objects": "Fair",
            "Memory": "Lower",
        },
        file="isnet-uint8.onnx",
        source="models/isnet-uint8.onnx",
        size=44_342_436,
        sha256="7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a",
        license=ISNET_LICENSE,
        license_url="licenses/imgly-background-removal-data.md",
        approx_mb=42,
    ),
)

DEFAULT_ENGINE = "balanced"
# The command line and the library start on Lightweight: its file comes from a
# package registry with no license to accept, and it is the fastest.
CLI_DEFAULT_ENGINE = "lightweight"


def get_engine(engine_id: str) -> Engine:
    for engine in ENGINES:
        if engine.id == engine_id:
            return engine
    known = ", ".join(e.id for e in ENGINES)
    raise KeyError(f"unknown engine {engine_id!r}; choose one of: {known}")
