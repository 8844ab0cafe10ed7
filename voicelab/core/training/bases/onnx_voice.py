"""A published Piper voice (.onnx) rebuilt as trainable generator weights.

Most Piper voices are published only as ONNX files, so to fine-tune from one the trainer
must get `SynthesizerTrn` weights back out of the exported graph. The ONNX file holds the
inference path only (text encoder, the inference half of the duration predictor, the flow,
the decoder); the posterior encoder, the duration predictor's posterior branch and the
discriminator were never exported and start untrained (`warmup.py` warms them).

The exporter did not keep every weight under its parameter name, so each ONNX initializer
is placed by these rules, in order (facts from the warm-start research note):

1. `Identity(initializer)` outputs are initializers too: the exporter merges parameters of
   equal value into one tensor and re-creates the duplicates as Identity outputs;
2. a parameter name (`dec.ups.0.weight`) is taken as it is;
3. an initializer that is input 1 or 2 of a Conv / ConvTranspose belongs to the module the
   node's scope names (`/flow/flows.6/enc/in_layers.0/Conv` → `flow.flows.6.enc.in_layers.0`):
   the weight-normed convolutions were folded into anonymous `onnx::Conv_*` tensors;
4. input 0 of the embedding's Gather is `<scope>.weight` (the phoneme table is named `sid`);
5. the duration flow's `ElementwiseAffine.logs` survives only folded, as exp(-logs)
   (torch 2.0's exporter) or as -logs feeding an Exp (torch 2.x's later exporter).

Everything else is a graph constant. Conv weights come out as plain `W`; `training_state`
splits them for weight-normed modules (weight_v = W, weight_g = ‖W‖ over all dimensions but
the first), so the effective weight is exactly W and the keys are a Piper checkpoint's.

`convert_voice` then proves the conversion: the rebuilt generator and onnxruntime speak the
same phonemes with zero noise and must agree (correlation ≥ `MIN_CORRELATION`). Hyper-
parameters are read from tensor shapes and node attributes (`onnx_arch.py`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from voicelab.core.training.bases.errors import OnnxVoiceError
from voicelab.core.training.bases.onnx_weights import WEIGHT_V_SCALE, load_into, training_state, untrained_part

PathLike = Union[str, "os.PathLike[str]"]

#: The rebuilt generator must speak like onnxruntime, sample for sample, before it is a base.
MIN_CORRELATION = 0.9999
_PARAMETER_NAME = re.compile(r"^(enc_p|dp|flow|dec|emb_g)\.[\w.]+$")
_QUANTIZED_OPS = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
                  "ConvInteger", "QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearMul"}
#: onnx.TensorProto types of rounded weights: UINT8, INT8, FLOAT16, BFLOAT16.
_LOW_PRECISION = {2, 3, 10, 16}


@dataclass
class OnnxGraphFacts:
    """What the mapping found: generator weights by name plus the nodes' attributes."""

    weights: dict[str, np.ndarray]  # plain names (conv weights as `.weight`)
    sources: dict[str, str]  # name -> rule that placed it
    ignored: list[str]  # graph constants
    conv_attributes: dict[str, dict[str, Any]]  # module path -> Conv/ConvTranspose attributes
    opset: int
    producer: str
    speakers_input: bool


@dataclass
class ConvertedVoice:
    """A voice as trainable weights: generator state in training form, its shape, the proof."""

    path: Path
    config: dict[str, Any]
    arch: dict[str, Any]
    quality: str | None
    state: dict[str, Any]  # torch tensors, keys of the weight-normed training generator
    untrained: dict[str, list[str]]  # part -> generator keys that start at their init
    counts: dict[str, int] = field(default_factory=dict)
    proof: Any | None = None  # onnx_proof.Proof
    facts: OnnxGraphFacts | None = None

    def summary(self) -> dict[str, Any]:
        """Plain data for the run's log and the `started` event."""
        return {"onnx": str(self.path), "quality": self.quality, **self.counts,
                "untrained": {part: len(keys) for part, keys in self.untrained.items()},
                "proof": self.proof.to_dict() if self.proof else None}


# ---------------------------------------------------------------------------------------
# Reading the graph


def voice_config_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _load_model(path: Path) -> Any:
    import onnx
    from google.protobuf.message import DecodeError

    if not path.is_file():
        raise OnnxVoiceError(f"The voice {path} does not exist. Choose an .onnx voice file.")
    try:
        return onnx.load(str(path), load_external_data=True)
    except (DecodeError, ValueError, OSError, RuntimeError) as error:
        raise OnnxVoiceError(
            f"“{path.name}” cannot be read as an ONNX model ({type(error).__name__}); it is "
            "truncated or damaged. Download the voice again."
        ) from None


def _array(tensor: Any) -> np.ndarray:
    from onnx import numpy_helper

    return numpy_helper.to_array(tensor)


def _scope(node_name: str, prefix: str) -> str | None:
    """`/model/flow/flows.6/enc/in_layers.0/Conv` → `flow.flows.6.enc.in_layers.0`."""
    if not node_name.startswith(prefix):
        return None
    parts = node_name[len(prefix):].split("/")[:-1]
    return ".".join(parts) if parts else None


def _parameter_prefix(names: Any) -> str:
    """What the exporter put before parameter names: "" for piper's export of the
    generator itself, "model." when it was wrapped in a module (VoiceLab's exporter)."""
    for name in names:
        at = name.find("dec.conv_pre.")
        if at >= 0:
            return name[:at]
    return ""


def _check_voice_graph(model: Any, path: Path) -> tuple[str, bool]:
    """Refuse what is not a float Piper export; returns (node scope prefix, has sid input)."""
    graph = model.graph
    inputs = [item.name for item in graph.input]
    outputs = [item.name for item in graph.output]
    if inputs[:3] != ["input", "input_lengths", "scales"] or outputs[:1] != ["output"]:
        raise OnnxVoiceError(
            f"“{path.name}” is an ONNX model but not a Piper voice: its inputs are "
            f"{', '.join(inputs) or 'none'} (a Piper voice has input, input_lengths, scales "
            "and, for several speakers, sid). Choose a Piper .onnx voice."
        )
    if not len(graph.initializer) or not len(graph.node):
        raise OnnxVoiceError(f"“{path.name}” holds no weights; it is truncated. Download the voice again.")
    quantized = sorted({node.op_type for node in graph.node if node.op_type in _QUANTIZED_OPS})
    low_precision = [t.name for t in graph.initializer if t.data_type in _LOW_PRECISION and len(t.dims) >= 2]
    if quantized or low_precision:
        what = ", ".join(quantized) if quantized else f"{len(low_precision)} weights not in float32"
        raise OnnxVoiceError(
            f"“{path.name}” is a quantized or half-precision voice ({what}); its weights are "
            "rounded, so fine-tuning from it would start from a damaged voice. Use the float32 "
            "release of this voice (or its .ckpt checkpoint)."
        )
    foreign = sorted({node.domain for node in graph.node if node.domain not in ("", "ai.onnx")})
    embedding = next((node for node in graph.node if node.op_type == "Gather"
                      and len(node.input) > 1 and node.input[1] == "input"), None)
    anchor = embedding.name if embedding is not None else ""
    marker = anchor.find("enc_p/emb/")
    if foreign or marker < 0:
        why = (f"it uses fused operators ({', '.join(foreign)})" if foreign
               else "its nodes were renamed, so the weights cannot be placed")
        raise OnnxVoiceError(
            f"“{path.name}” was optimized after export ({why}). Use the voice as Piper "
            "published it (the .onnx straight from piper's export), not an onnxsim or "
            "onnxruntime-optimized copy."
        )
    return anchor[:marker], "sid" in inputs


def read_graph(path: PathLike) -> OnnxGraphFacts:
    """Every generator weight the ONNX voice holds, by name (see the module doc)."""
    file = Path(path)
    model = _load_model(file)
    prefix, has_sid = _check_voice_graph(model, file)
    graph = model.graph
    name_prefix = _parameter_prefix(t.name for t in graph.initializer)
    tensors: dict[str, np.ndarray] = {t.name: _array(t) for t in graph.initializer}
    for node in graph.node:  # Constant nodes hold values the same way
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            tensors.setdefault(node.output[0], _array(node.attribute[0].t))
    for node in graph.node:  # rule 1: merged equal-valued parameters
        if node.op_type == "Identity" and node.input[0] in tensors:
            tensors[node.output[0]] = tensors[node.input[0]]
    consumers: dict[str, list[tuple[Any, int]]] = {}
    conv_attributes: dict[str, dict[str, Any]] = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            if name in tensors:
                consumers.setdefault(name, []).append((node, index))
        if node.op_type in ("Conv", "ConvTranspose"):
            scope = _scope(node.name, prefix)
            if scope:
                import onnx

                conv_attributes[scope] = {a.name: onnx.helper.get_attribute_value(a)
                                          for a in node.attribute}
    weights: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    ignored: list[str] = []

    def place(key: str, value: np.ndarray, rule: str) -> None:
        if key in weights and not np.array_equal(weights[key], value):
            raise OnnxVoiceError(f"“{file.name}” gives {key} two different values; it is not a "
                                 "standard Piper export. Use the voice as Piper published it.")
        weights[key] = np.asarray(value, dtype=np.float32)
        sources[key] = rule

    for name, value in tensors.items():
        uses = consumers.get(name, [])
        bare = name[len(name_prefix):] if name_prefix and name.startswith(name_prefix) else name
        placed = False
        for node, index in uses:
            scope = _scope(node.name, prefix)
            if node.op_type in ("Conv", "ConvTranspose") and index in (1, 2) and scope:
                key = f"{scope}.{'weight' if index == 1 else 'bias'}"
                if _PARAMETER_NAME.match(bare) and bare != key:
                    raise OnnxVoiceError(f"“{file.name}” feeds {bare} into {scope}; the graph "
                                         "was altered after export. Use the voice as published.")
                place(key, value, "name" if bare == key else "conv node")
                placed = True
            elif node.op_type == "Gather" and index == 0 and scope and scope.split(".")[-1] in ("emb", "emb_g"):
                place(f"{scope}.weight", value, "gather node")
                placed = True
            elif scope == "dp.flows.0" and node.op_type in ("Exp", "Mul") and value.ndim >= 2:
                if node.op_type == "Exp":  # later exporters: -logs feeding Exp
                    place("dp.flows.0.logs", -value, "folded -logs")
                    placed = True
                elif re.search(r"/Exp(_\d+)?_output_0$", name):  # torch 2.0: exp(-logs)
                    place("dp.flows.0.logs", -np.log(value), "folded exp(-logs)")
                    placed = True
        if not placed and _PARAMETER_NAME.match(bare):
            place(bare, value, "name")
            placed = True
        if not placed:
            ignored.append(name)
    opset = max((item.version for item in model.opset_import if item.domain in ("", "ai.onnx")), default=0)
    return OnnxGraphFacts(weights=weights, sources=sources, ignored=ignored,
                          conv_attributes=conv_attributes, opset=int(opset),
                          producer=f"{model.producer_name} {model.producer_version}".strip(),
                          speakers_input=has_sid)


def read_voice_config(path: Path) -> dict[str, Any]:
    config_path = voice_config_path(path)
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OnnxVoiceError(f"The voice config {config_path.name} is missing beside {path.name}. "
                             "Download both files of the voice (.onnx and .onnx.json).") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise OnnxVoiceError(f"The voice config {config_path} cannot be read ({error}). "
                             "Download the voice's .onnx.json again.") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("phoneme_id_map"), dict):
        raise OnnxVoiceError(f"{config_path.name} is not a Piper voice config (no phoneme_id_map). "
                             "Download the voice's .onnx.json again.")
    return raw


# ---------------------------------------------------------------------------------------
# The conversion with its proof


_last: dict[str, Any] = {}  # the latest conversion: the trainer inspects, then loads the same file


def convert_voice(path: PathLike, *, prove: bool = True, cancel: Any | None = None) -> ConvertedVoice:
    """The voice at `path` as trainable weights; `OnnxVoiceError` says why it cannot be.

    The latest proven conversion is kept (keyed by path, size and modification time), so
    inspecting a base and then loading it converts the file once. `cancel` (a CancelToken)
    is checked between the stages: the GUI's base check must end when its window closes,
    and on a busy machine the whole conversion takes tens of seconds.
    """
    file = Path(path)
    try:
        stat = file.stat()
        key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns, WEIGHT_V_SCALE)
    except OSError:
        key = None
    cached = _last.get("voice")
    if key is not None and _last.get("key") == key and (cached.proof is not None or not prove):
        return cached
    converted = _convert(file, prove, cancel)
    if key is not None:
        _last.update(key=key, voice=converted)
    return converted


def _convert(path: PathLike, prove: bool, cancel: Any | None = None) -> ConvertedVoice:
    from voicelab.core.training.bases.onnx_arch import infer_arch
    from voicelab.core.training.bases.onnx_proof import prove_conversion
    from voicelab.core.training.vits.architecture import build_generator

    def stage_done() -> None:
        if cancel is not None:
            cancel.raise_if_cancelled()

    file = Path(path)
    config = read_voice_config(file)
    facts = read_graph(file)
    stage_done()
    arch, quality = infer_arch(facts, config, file)
    try:
        generator = build_generator(arch)
    except Exception as error:  # a shape piper's generator cannot take
        raise OnnxVoiceError(f"“{file.name}” has a generator shape VoiceLab cannot rebuild "
                             f"({error}). It is not a standard Piper voice.") from None
    target = generator.state_dict()
    state, unused = training_state(facts.weights, target)
    wrong = [key for key, value in state.items() if key not in target or tuple(value.shape) != tuple(target[key].shape)]
    untrained: dict[str, list[str]] = {}
    missing = []
    for key in target:
        if key in state:
            continue
        part = untrained_part(key)
        if part is None:
            missing.append(key)
        else:
            untrained.setdefault(part, []).append(key)
    if wrong or unused or missing:
        detail = (wrong or unused or missing)[:4]
        what = ("weights of the wrong shape" if wrong else "weights that fit no layer" if unused
                else "inference weights missing")
        raise OnnxVoiceError(
            f"“{file.name}” does not rebuild into Piper's generator: {what} "
            f"({', '.join(detail)}{'…' if len(wrong or unused or missing) > 4 else ''}). It is not "
            "a standard Piper voice, or it was altered after export; use a .ckpt base instead."
        )
    counts = {
        "generator_entries": len(target),
        "loaded": len(state),
        "loaded_values": int(sum(int(v.numel()) for v in state.values())),
        "untrained_entries": sum(len(keys) for keys in untrained.values()),
        "ignored_constants": len(facts.ignored),
        "by_conv_node": sum(1 for rule in facts.sources.values() if rule == "conv node"),
    }
    converted = ConvertedVoice(path=file, config=config, arch=arch, quality=quality, state=state,
                               untrained=untrained, counts=counts, facts=facts)
    if prove:
        stage_done()
        load_into(generator, converted)
        stage_done()
        converted.proof = prove_conversion(generator, file, config, arch)
        proof = converted.proof
        if not proof.correlation >= MIN_CORRELATION or proof.samples != proof.onnx_samples:
            raise OnnxVoiceError(
                f"The weights rebuilt from “{file.name}” do not speak like the voice (correlation "
                f"{converted.proof.correlation:.6f}, {converted.proof.samples} against "
                f"{converted.proof.onnx_samples} samples; at least {MIN_CORRELATION} is needed). "
                "The voice is not a standard Piper export; use its .ckpt checkpoint instead."
            )
    return converted
