"""Recording a dataset by reading prompts into a microphone (the studio and `dataset record`).

Qt-free, so the GUI's studio and the terminal's `voicelab-cli dataset record` run the same
code:

    audio_in.py     the microphone behind an interface a test replaces (`FakeAudioInput`)
    recorder.py     the input's blocks become a level for the meter, a pre-roll and a take
    take_writer.py  a take streams into a temporary file that becomes the take when it stops
    checks.py       is the take usable: level, clipping, noise, cut off at either end
    words.py        did the person say the prompt (Whisper on the take, words compared)
    review.py       a stopped take judged: its file made permanent, then the checks above
    prompts.py      the bundled prompt sets in resources/prompts/ and a person's own file
    takes.py        the takes of one dataset on disk, and keeping a take as a clip
"""
