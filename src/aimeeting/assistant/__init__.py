"""The meeting assistant's offline speech to text (docs/assistant.md, "Speech to text").

- :mod:`aimeeting.assistant.speech`: the :class:`~aimeeting.assistant.speech.Transcriber`
  protocol and :func:`~aimeeting.assistant.speech.load_transcriber` (faster-whisper, or a
  plugged engine).
- :mod:`aimeeting.assistant.models`: the Whisper models shipped in PyPI packages, checked.
- :mod:`aimeeting.assistant.segmenter`: a speaker's audio cut into utterances (numpy only).
- :mod:`aimeeting.assistant.audio`: WebRTC audio frames to float32 16 kHz mono.
- :mod:`aimeeting.assistant.accuracy`: word and character error rates.

Nothing here imports the server; faster-whisper and PyAV are imported only by the modules that
need them (``speech``, ``audio``), so the segmenter and the error rates work without the ``ai``
extra.
"""
