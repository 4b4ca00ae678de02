"""Does a speaker-conditioned WaveNet speak in the voice it is given? A check of global conditioning
by what it generates, not by its likelihood.

The likelihood shows global conditioning too (`sequences.py`: `WaveNet-speaker-long` against
`WaveNet-long`), but it is a weak test of it. The speaker id is one of 4 voices: at most
log2(4) = 2 bits about a whole window, so a model that saw a window's whole past could gain at most
2 bits per scored window from it (0.0013 bits per sample over 1,536 samples). A WaveNet sees only its
receptive field (513 samples here) and must infer the voice again at every step, so the id can give
it more, but how much says as much about the network as about the condition. What the condition must
change is the distribution the model draws from, and the model's own ranking of voices.

The checks:
(1) the model as a speaker classifier: each `validation` utterance is scored (the `speech` windows:
    1,536 samples after 512 of context, silence before the utterance) under each of the 4 ids; the id
    with the highest log-likelihood is the model's guess;
(2) what it draws: a speaker classifier (logistic regression on the per-band mean and std of 20
    log-mel bands and the median pitch, over 1 s clips) is fitted on clips of the `train` utterances
    and scored on those of the `validation` utterances (how well the voices can be told apart at all).
    It then labels clips drawn from the model (`model.sample(..., condition=speaker)`, a fixed seed,
    the first 0.5 s dropped as warm-up): the accuracy against the voice asked for, beside chance
    (25%), the confusion matrix, and the median pitch per voice in the data and in the samples.

    python benchmarks/speech_voices.py MODEL.keras [--clips 8] [--seconds 1.0]

MODEL.keras: a WaveNet trained with the speaker id as its condition, e.g.
    python benchmarks/sequences.py --only WaveNet-speaker --save-dir /tmp/models
Prints JSON and writes `benchmarks/results/speech_voices.json`.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import keras_ar  # noqa: E402, F401  (registers the models for load_model)
from keras_ar import data as kd  # noqa: E402
import protocols as bp  # noqa: E402  (benchmarks/protocols.py)
from quality import machine  # noqa: E402

RATE, CLIP, HOP, N_MELS = 16000, 16000, 256, 20
RESULTS = os.path.join(HERE, "results", "speech_voices.json")


def features(wave):
    """Per-band mean and std of the log-mel frames and the median pitch (Hz) of a waveform clip."""
    import librosa

    mel = kd.log_mel_frames(wave, RATE, HOP, N_MELS)
    f0 = librosa.yin(wave.astype(np.float64), fmin=60, fmax=400, sr=RATE, frame_length=1024)
    return np.concatenate([mel.mean(0), mel.std(0), [np.median(f0)]]).astype(np.float64)


def clips(data, split):
    """Non-overlapping 1 s clips of every utterance of `split` that are not mostly silence, with voices."""
    xs, ys = [], []
    for codes, voice in zip(data.split(split), getattr(data, f"{split}_labels")):
        wave = kd.mu_law_decode(codes)
        for start in range(0, len(wave) - CLIP + 1, CLIP):
            clip = wave[start : start + CLIP]
            if np.sqrt(np.mean(clip**2)) > 0.02:
                xs.append(clip)
                ys.append(int(voice))
    return xs, np.array(ys)


def rank_voices(model, data, context=512, batch=64):
    """Check (1): the id under which the model gives each validation utterance its highest likelihood."""
    segment = model.event_shape[0] - context
    totals, truth = [], []
    for codes, voice in zip(data.split("validation"), data.validation_labels):
        windows, mask = kd.scoring_windows(codes.astype(np.int32), segment, context, start=0,
                                           pad_value=kd.silence_code())
        per_id = []
        for v in range(model.num_classes):
            total = 0.0
            for i in range(0, len(windows), batch):
                w = windows[i : i + batch]
                lp = keras.ops.convert_to_numpy(
                    model.conditional_log_probs(w, condition=np.full(len(w), v, "int32")))
                total += float((lp.reshape(mask[i : i + batch].shape) * mask[i : i + batch]).sum())
            per_id.append(total)
        totals.append(per_id)
        truth.append(int(voice))
    guess = np.argmax(np.array(totals), axis=1)
    return dict(utterances=len(truth), accuracy=round(float((guess == np.array(truth)).mean()), 3),
                confusion=[[int(((np.array(truth) == t) & (guess == g)).sum()) for g in range(model.num_classes)]
                           for t in range(model.num_classes)])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--clips", type=int, default=8, help="generated clips per voice")
    p.add_argument("--seconds", type=float, default=1.0, help="length of each generated clip, after warm-up")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dry", action="store_true", help="write nothing")
    a = p.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = bp.load_speech()
    voices = data.info["voices"]
    train_x, train_y = clips(data, "train")
    val_x, val_y = clips(data, "validation")
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    classifier.fit(np.stack([features(c) for c in train_x]), train_y)
    val_f = np.stack([features(c) for c in val_x])
    real_accuracy = float((classifier.predict(val_f) == val_y).mean())

    model = keras.saving.load_model(a.model)
    if not model.num_classes:
        raise ValueError(f"{a.model} has no class condition (`num_classes`): train it with the speaker id")
    ranked = rank_voices(model, data)
    warm, length = RATE // 2, int(a.seconds * RATE)
    asked = np.repeat(np.arange(model.num_classes), a.clips).astype("int32")
    t0 = time.perf_counter()
    codes = keras.ops.convert_to_numpy(model.sample(len(asked), condition=asked, num_steps=warm + length,
                                                    seed=a.seed))
    seconds = time.perf_counter() - t0
    waves = kd.mu_law_decode(codes.astype(np.int32))[:, warm:]
    gen_f = np.stack([features(w) for w in waves])
    said = classifier.predict(gen_f)
    per_voice = []
    for v, name in enumerate(voices):
        per_voice.append(dict(
            voice=name,
            data_median_f0=round(float(np.median(val_f[val_y == v, -1])), 1),
            generated_median_f0=round(float(np.median(gen_f[asked == v, -1])), 1),
            identified=round(float((said[asked == v] == v).mean()), 3),
            generated_rms=round(float(np.sqrt((waves[asked == v] ** 2).mean())), 4),
        ))
    result = dict(
        model=os.path.basename(a.model), params=int(model.count_params()), clips_per_voice=a.clips,
        seconds=a.seconds, warm_up_seconds=warm / RATE, seed=a.seed,
        model_as_classifier_on_validation=ranked,
        classifier_clips=dict(train=len(train_y), validation=len(val_y)),
        classifier_accuracy_on_real_validation=round(real_accuracy, 3),
        accuracy_on_generated=round(float((said == asked).mean()), 3), chance=round(1 / model.num_classes, 3),
        confusion_generated=confusion_matrix(asked, said, labels=list(range(model.num_classes))).tolist(),
        per_voice=per_voice, sampling_seconds=round(seconds, 1), machine=machine(),
        backend=keras.backend.backend(),
    )
    print(json.dumps(result, indent=1))
    if not a.dry:
        os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
        with open(RESULTS, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
