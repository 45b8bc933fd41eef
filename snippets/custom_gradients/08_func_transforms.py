"""A custom Function under torch.func: grad, vmap and jvp ask more of it than .backward() does."""

import torch

device = torch.accelerator.current_accelerator(check_available=True) or torch.device("cpu")


class RoundSTE(torch.autograd.Function):
    """The straight-through estimator: round in forward, pass the gradient through."""

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.round(x)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: torch.Tensor) -> None:
        pass

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


class OldStyleRoundSTE(torch.autograd.Function):
    """The same in the older style: forward takes ctx and there is no setup_context."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


values = torch.tensor([-1.6, 0.2, 0.7, 1.4, 2.8]).to(device)
upstream = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).to(device)  # a different weight per value


def loss(rounded: torch.Tensor) -> torch.Tensor:
    return (rounded * upstream).sum()  # so the gradient arriving at `rounded` is `upstream`


# The older style works with .backward(); torch.func transforms need setup_context.
old_x = values.clone().requires_grad_()
loss(OldStyleRoundSTE.apply(old_x)).backward()
print("old style, .backward():", old_x.grad.tolist())
func_grad = torch.func.grad(lambda x: loss(RoundSTE.apply(x)))(values)
print("torch.func.grad:       ", func_grad.tolist())
try:
    torch.func.grad(lambda x: OldStyleRoundSTE.apply(x).sum())(values)
except RuntimeError as error:
    old_style_message = str(error)
    print("old style, func.grad:  ", old_style_message.split(". ")[0])
old_style_refused = "must override the setup_context staticmethod" in old_style_message

# setup_context is necessary, not sufficient: vmap and forward mode need more.
try:
    torch.func.vmap(RoundSTE.apply)(values)
except RuntimeError as error:
    vmap_message = str(error)
    print("vmap:                  ", vmap_message.split(". ")[0])
try:
    torch.func.jvp(RoundSTE.apply, (values,), (torch.ones_like(values),))
except NotImplementedError as error:
    jvp_message = str(error)
    print("jvp:                   ", jvp_message)


class BatchedRoundSTE(RoundSTE):
    generate_vmap_rule = True  # vmap transforms forward as it transforms any torch code
    # a probe, for this page only: torch.func expects a Function's methods to have no side effects
    shapes_seen = []  # the shape of x at each run of forward
    backward_shapes = []  # the shape of grad_output at each run of backward

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        BatchedRoundSTE.shapes_seen.append(tuple(x.shape))
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        BatchedRoundSTE.backward_shapes.append(tuple(grad_output.shape))
        return grad_output


batch = torch.stack([values, 2 * values, 3 * values])  # three examples of shape (5,)
vmapped = torch.func.vmap(BatchedRoundSTE.apply)(batch)
shapes_one_call = list(BatchedRoundSTE.shapes_seen)
print("vmap rule:              batch", tuple(batch.shape), "- forward saw", shapes_one_call)
# setup_context and backward are batched too: vmap over grad gives per-example STE gradients.
weights = torch.stack([upstream, upstream.flip(0), -upstream])  # each example its own loss
grad_one_example = torch.func.grad(lambda v, w: (BatchedRoundSTE.apply(v) * w).sum())
per_example_grads = torch.func.vmap(grad_one_example)(batch, weights)


class RoundSTEWithVmap(RoundSTE):
    received = []  # a probe, as above: what the vmap method was given

    @staticmethod
    def vmap(info, in_dims: tuple, x: torch.Tensor) -> tuple[torch.Tensor, int]:
        RoundSTEWithVmap.received.append((info.batch_size, in_dims, tuple(x.shape)))
        return torch.round(x), in_dims[0]  # the output, and where its batch dimension is


vmapped_by_method = torch.func.vmap(RoundSTEWithVmap.apply)(batch)
print("vmap method got:        batch size, in_dims, shape =", RoundSTEWithVmap.received[0])

assert torch.equal(func_grad, upstream)  # witness: func-grad-works
assert torch.equal(old_x.grad, upstream)  # witness: old-style-backward-works
assert old_style_refused  # witness: old-style-refused
assert vmap_message.startswith("You tried to vmap over RoundSTE")  # witness: vmap-needs-rule
assert torch.equal(vmapped, torch.round(batch))  # witness: vmap-rule-works
grads_per_example = torch.equal(per_example_grads, weights)  # row i: example i's own weights
backward_batched = BatchedRoundSTE.backward_shapes == [tuple(batch.shape[1:])]  # one run, (5,)
assert grads_per_example and backward_batched  # witness: vmap-rule-batches-backward
one_call = shapes_one_call == [tuple(batch.shape[1:])]  # one run for three examples, on (5,)
assert one_call  # witness: vmap-forward-one-example
whole_batch = RoundSTEWithVmap.received == [(len(batch), (0,), tuple(batch.shape))]  # one call
method_works = torch.equal(vmapped_by_method, torch.round(batch))
assert whole_batch and method_works  # witness: vmap-method-whole-batch
assert jvp_message.startswith("You must implement the jvp function")  # witness: jvp-needs-method
