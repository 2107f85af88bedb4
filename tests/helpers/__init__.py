"""Code the tests share: the float tolerance policy (``tolerance``), tiny models with known
structure (``models``), a benchmark folder and checkpoint builder (``benchmark``), training
data with a planted cue (``training``), the Silent-Face assets (``assets``), image bytes
for the service (``image_bytes``), annotation files in the tools' formats
(``annotation_files``), headless Chromium for the page tests (``browser``), a labelled
folder of real photos (``real_images``), SynthSpoof's mask truths and image statistics
(``synth``) and byte snapshots of written folders (``folders``). Test modules import from
here, never from each other."""
