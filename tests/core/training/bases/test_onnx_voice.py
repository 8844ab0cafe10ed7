"""An .onnx voice becomes trainable weights, proven against onnxruntime; bad files are refused.

Real files: the bundled joe voice (torch 2.0 export), and tiny piper `VitsModel`s exported
here with the installed torch through VoiceLab's own exporter, then converted back.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
import torch

from tests.support import checkpoint_builders as builders
from tests.support.voices import joe_path
from voicelab.core.training.bases.errors import OnnxVoiceError
from voicelab.core.training.bases.onnx_voice import MIN_CORRELATION, convert_voice
from voicelab.core.training.bases.onnx_weights import load_into
from voicelab.core.training.vits.architecture import build_generator, remove_weight_norms

pytestmark = [pytest.mark.usefixtures("one_torch_thread"),
              pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning",
                                         "ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def joe():
    return convert_voice(joe_path())


def test_joe_converts_and_speaks_like_onnxruntime(joe):
    assert joe.quality == "medium"
    assert joe.proof.correlation >= MIN_CORRELATION
    assert joe.proof.samples == joe.proof.onnx_samples > 10000
    assert joe.proof.max_abs_diff < 1e-3
    assert joe.counts["generator_entries"] == 673
    assert joe.counts["loaded"] == 403
    assert joe.counts["loaded_values"] == 15_663_771
    assert joe.counts["by_conv_node"] == 32  # the anonymous flow convolutions
    assert sorted(joe.untrained) == ["duration predictor posterior", "posterior encoder"]
    untrained = [key for keys in joe.untrained.values() for key in keys]
    assert len(untrained) == 270
    assert all(key.startswith(("enc_q.", "dp.post_", "dp.flows.1.")) for key in untrained)
    assert joe.facts.sources["enc_p.emb.weight"] == "gather node"
    assert joe.facts.sources["dp.flows.0.logs"] == "folded exp(-logs)"
    # weight norm re-applied: the decoder's weights are split as a Piper checkpoint's are
    assert "dec.ups.0.weight_v" in joe.state and "dec.ups.0.weight_g" in joe.state
    assert joe.arch["upsample_rates"] == (8, 8, 4) and joe.arch["n_heads"] == 2
    assert joe.arch["resblock_dilation_sizes"] == ((1, 2), (2, 6), (3, 12))


def _effective(converted):
    generator = build_generator(converted.arch)
    load_into(generator, converted)
    with torch.no_grad():
        remove_weight_norms(generator)
    return generator.state_dict()


def test_exported_checkpoint_converts_back_to_the_same_weights(tmp_path):
    """The round trip a fine-tune makes: checkpoint → export_voice → .onnx → trainable again."""
    from voicelab.core.training.vits.architecture import architecture
    from voicelab.core.training.voice.export import export_voice

    model = builders.tiny_vits_model(seed=5)
    checkpoint = builders.save_lightning2_checkpoint(model, tmp_path / "run" / "last.ckpt")
    arch = architecture(dict(model.hparams), model.model_g.state_dict())
    result = export_voice(checkpoint, tmp_path / "voices", name="round-trip",
                          config=builders.tiny_voice_config(arch))
    converted = convert_voice(result.onnx_path)
    assert converted.proof.correlation >= MIN_CORRELATION
    reference = build_generator(arch)
    reference.load_state_dict(model.model_g.state_dict())
    with torch.no_grad():
        remove_weight_norms(reference)
    expected, effective = reference.state_dict(), _effective(converted)
    loaded = [key for key in expected if not key.startswith(("enc_q.", "dp.post_", "dp.flows.1."))]
    for key in loaded:
        assert torch.allclose(effective[key], expected[key], atol=1e-6), key


@pytest.mark.parametrize("tie", [True], ids=["equal-valued-parameters"])
def test_fresh_export_converts_back_exactly(tmp_path, tie):
    model = builders.tiny_vits_model(seed=5)
    path, arch, plain = builders.export_tiny_voice(model, tmp_path, tie=tie)
    if tie:
        graph = onnx.load(str(path)).graph
        assert any(node.op_type == "Identity" for node in graph.node)
    converted = convert_voice(path)
    assert converted.proof.correlation > 0.99999
    effective = _effective(converted)
    loaded = [key for key in plain if not key.startswith(("enc_q.", "dp.post_", "dp.flows.1."))]
    assert loaded and all(key in effective for key in loaded)
    for key in loaded:
        assert torch.allclose(effective[key], plain[key], atol=1e-6), key
    untrained = [k for k in build_generator(arch).state_dict()
                 if k.startswith(("enc_q.", "dp.post_", "dp.flows.1."))]
    assert converted.counts["untrained_entries"] == len(untrained) > 0


def test_multi_speaker_export_converts_with_its_speakers(tmp_path):
    model = builders.tiny_vits_model(seed=6, num_speakers=3)
    path, arch, _ = builders.export_tiny_voice(model, tmp_path)
    converted = convert_voice(path)
    assert converted.arch["num_speakers"] == 3 and converted.arch["gin_channels"] == 16
    assert "emb_g.weight" in converted.state
    assert converted.proof.correlation >= MIN_CORRELATION


@pytest.fixture(scope="module")
def tiny_voice(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    path, _, _ = builders.export_tiny_voice(builders.tiny_vits_model(seed=7), folder)
    return path


def _copy_voice(source, folder, name="bad"):
    target = folder / f"{name}.onnx"
    shutil.copyfile(source, target)
    shutil.copyfile(f"{source}.json", f"{target}.json")
    return target


def _refused(path, *words):
    with pytest.raises(OnnxVoiceError) as caught:
        convert_voice(path)
    message = str(caught.value)
    assert path.name in message or f"{path.name}.json" in message
    for word in words:
        assert word in message, message
    return message


def test_truncated_voice_is_refused(tiny_voice, tmp_path):
    path = _copy_voice(tiny_voice, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused(path, "truncated")


def test_half_precision_voice_is_refused(tiny_voice, tmp_path):
    path = _copy_voice(tiny_voice, tmp_path)
    model = onnx.load(str(path))
    for tensor in model.graph.initializer:
        if len(tensor.dims) >= 2:
            array = onnx.numpy_helper.to_array(tensor).astype(np.float16)
            tensor.CopyFrom(onnx.numpy_helper.from_array(array, tensor.name))
            break
    onnx.save(model, str(path))
    _refused(path, "half-precision", "float32")


def test_quantized_voice_is_refused(tiny_voice, tmp_path):
    """int8 weights behind DequantizeLinear, as onnxruntime's quantizer writes them."""
    from onnx import helper, numpy_helper

    path = _copy_voice(tiny_voice, tmp_path)
    model = onnx.load(str(path))
    tensor = next(t for t in model.graph.initializer if t.name.endswith("dec.conv_post.weight"))
    weight = numpy_helper.to_array(tensor)
    scale = float(np.abs(weight).max() / 127)
    model.graph.initializer.remove(tensor)
    model.graph.initializer.extend([
        numpy_helper.from_array(np.round(weight / scale).astype(np.int8), "w_q"),
        numpy_helper.from_array(np.array(scale, dtype=np.float32), "w_scale")])
    model.graph.node.insert(0, helper.make_node("DequantizeLinear", ["w_q", "w_scale"], [tensor.name],
                                                name="dequantize"))
    onnx.save(model, str(path))
    _refused(path, "quantized", "DequantizeLinear")


def test_optimized_voice_with_renamed_nodes_is_refused(tiny_voice, tmp_path):
    path = _copy_voice(tiny_voice, tmp_path)
    model = onnx.load(str(path))
    for index, node in enumerate(model.graph.node):
        node.name = f"n{index}"
    onnx.save(model, str(path))
    _refused(path, "optimized")


def test_voice_missing_an_inference_weight_is_refused(tiny_voice, tmp_path):
    path = _copy_voice(tiny_voice, tmp_path)
    model = onnx.load(str(path))
    keep = [t for t in model.graph.initializer if not t.name.endswith("dec.conv_post.weight")]
    assert len(keep) < len(model.graph.initializer)
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)
    onnx.save(model, str(path))
    _refused(path, "dec.conv_post")


def test_non_piper_onnx_is_refused(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    path = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph), str(path))
    (tmp_path / "other.onnx.json").write_text(json.dumps({"phoneme_id_map": {"_": [0]}}))
    _refused(path, "not a Piper voice")


def test_config_that_disagrees_with_the_weights_is_refused(tiny_voice, tmp_path):
    path = _copy_voice(tiny_voice, tmp_path)
    config = json.loads(path.with_name(path.name + ".json").read_text())
    config["num_speakers"] = 4
    path.with_name(path.name + ".json").write_text(json.dumps(config))
    _refused(path, "4 speakers")


def test_missing_config_is_refused(tiny_voice, tmp_path):
    path = tmp_path / "alone.onnx"
    shutil.copyfile(tiny_voice, path)
    _refused(path, ".onnx.json")


def test_weight_norm_split_can_be_scaled_without_changing_the_weights(joe):
    """weight_v = k·W, weight_g = ‖W‖: the same effective kernel, a k-times longer v."""
    from voicelab.core.training.bases.onnx_weights import training_state

    target = build_generator(joe.arch).state_dict()
    state, unused = training_state(joe.facts.weights, target, v_scale=10.0)
    assert not unused and set(state) == set(joe.state)
    for stem in ("dec.ups.0", "flow.flows.0.enc.in_layers.0"):
        v, g = state[f"{stem}.weight_v"], state[f"{stem}.weight_g"]
        dims = tuple(range(1, v.dim()))
        assert torch.allclose(v.norm(dim=dims, keepdim=True), 10 * g, rtol=1e-4)
        plain = torch.from_numpy(joe.facts.weights[f"{stem}.weight"])
        assert torch.allclose(torch._weight_norm(v, g, 0), plain, atol=1e-6)
    default = joe.state["dec.ups.0.weight_v"]  # the default split: a 10x longer v (onnx_voice)
    assert torch.allclose(default.norm(dim=(1, 2), keepdim=True), 10 * joe.state["dec.ups.0.weight_g"],
                          rtol=1e-4)
