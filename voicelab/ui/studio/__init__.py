"""The recording studio: read prompts into the microphone, each take checked as it stops.

    studio.py      the window: prompt, meter, take review, keys, and the jobs behind them
    microphone.py  choosing the microphone, the room check and the test recording
    setup_bar.py   the row of controls for them and for the prompt set
    level_meter.py the input meter with its clipping light
    take_view.py   how a take and its problems are shown (prompt words, status, waveform)

The work is `voicelab.core.recording`'s; these modules only lay it out and wire it up.
"""
