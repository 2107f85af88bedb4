"""Code the tests share: the float tolerance policy (``tolerance``), tiny models with known
structure (``models``), a benchmark folder and checkpoint builder (``benchmark``), training
data with a planted cue (``training``), the Silent-Face assets (``assets``), image bytes
for the service (``image_bytes``), annotation files in the tools' formats
(``annotation_files``), headless Chromium for the page tests (``browser``) and a labelled
folder of real photos (``real_images``). Test modules import from here, never from each other."""
