namespace AttnEval.Abstractions;

/// <summary>
/// Debug reducer that keeps every full pattern it receives, as <c>pattern[layer][head][query][key]</c>
/// over absolute positions. Memory is L×H×T² floats: meant for short inputs only (the debug dump).
/// </summary>
public sealed class FullPatternRecorder : IAttentionRowReducer
{
    private readonly Dictionary<(int Sequence, int Layer, int Head, int Query), float[]> _rows = new();

    /// <summary>Creates a recorder for the given layers (null = all).</summary>
    public FullPatternRecorder(IReadOnlySet<int>? layers = null) => Layers = layers;

    /// <inheritdoc />
    public IReadOnlySet<int>? Layers { get; }

    /// <inheritdoc />
    public void Accept(in AttentionRowBlock block)
    {
        for (int h = 0; h < block.Heads; h++)
            for (int i = 0; i < block.QueryCount; i++)
                _rows[(block.Sequence, block.Layer, h, block.QueryStart + i)] = block.Row(h, i).ToArray();
    }

    /// <summary>The recorded row of (layer, head) at absolute query position, or null if none arrived.</summary>
    public float[]? Row(int layer, int head, int query, int sequence = 0) =>
        _rows.TryGetValue((sequence, layer, head, query), out var r) ? r : null;

    /// <summary>Number of recorded rows.</summary>
    public int Count => _rows.Count;

    /// <summary>Every recorded (sequence, layer, head, query) key.</summary>
    public IEnumerable<(int Sequence, int Layer, int Head, int Query)> Keys => _rows.Keys;
}
