"""Code the tests share: the float tolerance policy (``tolerance``), tiny models with known
structure (``models``), a benchmark folder and checkpoint builder (``benchmark``), training
data with a planted cue (``training``), the Silent-Face assets (``assets``) and image bytes
for the service (``image_bytes``). Test modules import from here, never from each other."""
