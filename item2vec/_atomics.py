"""An atomic counter for numba kernels: the work queue of the training loop.

numba's ``prange`` cuts its iteration space into one contiguous, static slice
per thread. The training kernel instead lets each thread claim the next block
of the corpus from a shared counter, so blocks are trained in corpus order
whichever thread is free (see :func:`item2vec._kernels.sgns_epoch`).
"""

from __future__ import annotations

from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def fetch_add(typingctx, counter, value):
    """Atomically add ``value`` to ``counter[0]`` (a 1-d int64 array); returns the old value.

    Compiles to one LLVM ``atomicrmw add`` (monotonic ordering: the counter
    orders nothing else, it only hands out distinct numbers).
    """
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64 and counter.ndim == 1):
        return None
    if not isinstance(value, types.Integer):
        return None
    sig = types.int64(counter, value)

    def codegen(context, builder, signature, args):
        arr_type, value_type = signature.args
        arr = context.make_array(arr_type)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, arr_type, arr, [context.get_constant(types.intp, 0)])
        val = context.cast(builder, args[1], value_type, types.int64)
        return builder.atomic_rmw("add", ptr, val, "monotonic")

    return sig, codegen
