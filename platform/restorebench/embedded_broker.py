"""The embedded broker: kombu's filesystem transport, with message files that appear only when whole.

kombu's filesystem transport creates a message file and then writes it; a consumer listing the folder in
between can take the empty file, fail to read a message from it and drop it, so the submission waits in
"queued" until the reaper resends it (an hour by default). The demo showed it: 1 of 58 jobs lost with two
restoring processes enqueueing at once. Here each message is written under a hidden temporary name and
renamed into place (atomic on one filesystem), so a consumer sees a message file only once it is
complete. The rest of the transport is kombu's.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs) -> None:  # noqa: ANN001 - kombu's signature
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: `_get` takes only files named "<stamp>_<uuid>.<queue>.msg".
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
