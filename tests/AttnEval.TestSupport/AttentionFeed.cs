using AttnEval.Abstractions;

namespace AttnEval.TestSupport;

/// <summary>Hands hand-built causal attention to a reducer the way a backend does: the first <c>prefill</c> rows as query
/// chunks of <c>chunk</c> rows whose key length is the prefill length (entries past the query are 0), then one row per
/// decode step with key length = position + 1.</summary>
public static class AttentionFeed
{
    /// <param name="attention">[layer][head][row] = the row's weights over keys 0..row.</param>
    public static void Rows(IAttentionRowReducer reducer, double[][][][] attention, int prefill, int chunk)
    {
        int layers = attention.Length, heads = attention[0].Length, n = attention[0][0].Length;
        for (int q0 = 0; q0 < prefill; q0 += chunk)
        {
            int c = Math.Min(chunk, prefill - q0);
            for (int l = 0; l < layers; l++)
                reducer.Accept(new AttentionRowBlock(0, l, q0, c, heads, prefill, Block(attention[l], q0, c, prefill)));
        }
        for (int t = prefill; t < n; t++)
            for (int l = 0; l < layers; l++)
                reducer.Accept(new AttentionRowBlock(0, l, t, 1, heads, t + 1, Block(attention[l], t, 1, t + 1)));
    }

    private static float[] Block(double[][][] layer, int q0, int c, int keys)
    {
        int heads = layer.Length;
        var w = new float[heads * c * keys];
        for (int h = 0; h < heads; h++)
            for (int q = 0; q < c; q++)
            {
                var row = layer[h][q0 + q];
                for (int u = 0; u < row.Length; u++) w[(h * c + q) * keys + u] = (float)row[u];
            }
        return w;
    }

    /// <summary>Causal-uniform rows U[i, j] = 1/(i+1).</summary>
    public static double[][] Uniform(int n) => Enumerable.Range(0, n).Select(i => Enumerable.Repeat(1.0 / (i + 1), i + 1).ToArray()).ToArray();
}
