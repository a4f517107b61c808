using TorchSharp;
using static TorchSharp.torch;

namespace AttnEval.Backends.TorchSharp.Modeling;

/// <summary>
/// Pre-allocated key/value cache: per layer K and V of shape <c>[batch, kv_heads, capacity, head_dim]</c>.
/// A forward step writes its new positions at <see cref="Length"/> in every layer, then <see cref="Advance"/> moves on.
/// </summary>
internal sealed class KvCache : IDisposable
{
    private readonly Tensor?[] _keys, _values;

    public KvCache(int layers, int capacity) { _keys = new Tensor?[layers]; _values = new Tensor?[layers]; Capacity = capacity; }

    /// <summary>Positions already cached.</summary>
    public int Length { get; private set; }

    /// <summary>Maximum number of positions.</summary>
    public int Capacity { get; }

    /// <summary>Writes k, v (<c>[B, Hkv, t, D]</c>) of layer <paramref name="layer"/> at <see cref="Length"/> and returns
    /// views over every cached position, <c>[B, Hkv, Length + t, D]</c>.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        int t = (int)k.shape[2];
        if (Length + t > Capacity) throw new InvalidOperationException($"KV cache full: {Length} + {t} > {Capacity} positions.");
        if (_keys[layer] is null)
        {
            _keys[layer] = zeros(k.shape[0], k.shape[1], Capacity, k.shape[3], k.dtype, k.device).DetachFromDisposeScope();
            _values[layer] = zeros(v.shape[0], v.shape[1], Capacity, v.shape[3], v.dtype, v.device).DetachFromDisposeScope();
        }
        _keys[layer]!.narrow(2, Length, t).copy_(k);
        _values[layer]!.narrow(2, Length, t).copy_(v);
        return (_keys[layer]!.narrow(2, 0, Length + t), _values[layer]!.narrow(2, 0, Length + t));
    }

    /// <summary>Repeats a batch-1 cache <paramref name="batch"/> times (copies), so that <paramref name="batch"/> sequences
    /// continue the same cached prefix.</summary>
    /// <exception cref="InvalidOperationException">The cache does not hold batch 1.</exception>
    public void Expand(int batch)
    {
        for (int l = 0; l < _keys.Length; l++)
        {
            if (_keys[l] is not { } k || _values[l] is not { } v) continue;
            if (k.shape[0] != 1) throw new InvalidOperationException($"cannot expand a cache of batch {k.shape[0]}; expected 1.");
            _keys[l] = k.repeat(batch, 1, 1, 1).DetachFromDisposeScope();
            _values[l] = v.repeat(batch, 1, 1, 1).DetachFromDisposeScope();
            k.Dispose(); v.Dispose();
        }
    }

    /// <summary>Marks <paramref name="t"/> more positions as cached (after all layers appended them).</summary>
    public void Advance(int t) => Length += t;

    public void Dispose()
    {
        foreach (var t in _keys) t?.Dispose();
        foreach (var t in _values) t?.Dispose();
    }
}
