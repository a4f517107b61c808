using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace AttnEval.Abstractions;

/// <summary>
/// One attention head, identified by its 0-based layer and 0-based query-head index.
/// </summary>
/// <remarks>
/// Two string forms are understood (specs/head-methods.md §0):
/// <list type="bullet">
/// <item><c>"l-h"</c>, e.g. <c>"12-7"</c>, the form of the Retrieval_Head and SafetyHeadAttribution JSON files (<see cref="ToString"/>);</item>
/// <item><c>"L{l}H{h}"</c>, e.g. <c>"L12H7"</c>, the TransformerLens label form (<see cref="ToTransformerLensString"/>).</item>
/// </list>
/// With grouped-query attention the head index always names a query head, never a shared K/V head.
/// </remarks>
/// <param name="Layer">0-based layer index, in [0, n_layers).</param>
/// <param name="Head">0-based query-head index within the layer, in [0, n_heads).</param>
public readonly record struct HeadId(int Layer, int Head) : IComparable<HeadId>
{
    /// <summary>Formats the head as <c>"l-h"</c> (Retrieval_Head JSON form).</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Layer}-{Head}");

    /// <summary>Formats the head as <c>"L{l}H{h}"</c> (TransformerLens label form).</summary>
    public string ToTransformerLensString() => string.Create(CultureInfo.InvariantCulture, $"L{Layer}H{Head}");

    /// <summary>Orders by layer, then head.</summary>
    public int CompareTo(HeadId other) => Layer != other.Layer ? Layer.CompareTo(other.Layer) : Head.CompareTo(other.Head);

    /// <summary>Parses <c>"l-h"</c> or <c>"L{l}H{h}"</c> (case-insensitive, surrounding spaces ignored).</summary>
    /// <exception cref="FormatException">The text is neither form, or a number is negative.</exception>
    public static HeadId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var id)
            ? id
            : throw new FormatException($"'{text}' is not a head id: expected \"layer-head\" (e.g. \"3-5\") or \"L{{layer}}H{{head}}\" (e.g. \"L3H5\").");
    }

    /// <summary>Tries to parse <c>"l-h"</c> or <c>"L{l}H{h}"</c>.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out HeadId id)
    {
        id = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim().AsSpan();
        const NumberStyles digits = NumberStyles.None;
        if (s.Length > 1 && (s[0] == 'L' || s[0] == 'l') && char.IsDigit(s[1]))
        {
            int h = s.IndexOfAny('H', 'h');
            if (h < 2) return false;
            if (!int.TryParse(s[1..h], digits, CultureInfo.InvariantCulture, out var l) ||
                !int.TryParse(s[(h + 1)..], digits, CultureInfo.InvariantCulture, out var hh)) return false;
            id = new HeadId(l, hh);
            return true;
        }
        int dash = s.IndexOf('-');
        if (dash <= 0) return false;
        if (!int.TryParse(s[..dash], digits, CultureInfo.InvariantCulture, out var layer) ||
            !int.TryParse(s[(dash + 1)..], digits, CultureInfo.InvariantCulture, out var head)) return false;
        id = new HeadId(layer, head);
        return true;
    }
}
