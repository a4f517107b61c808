using AttnEval.Abstractions;

namespace AttnEval.Metrics.ReasoningRhythm.Tests;

/// <summary>
/// <see cref="ReasoningRhythmKind.Run"/> end to end on a scripted model whose teacher-forced pass delivers the hand-built
/// attention of <see cref="ReducerTests"/> (2 layers × 2 heads, prompt of 2 tokens, answer of 3), so the record's numbers are
/// the hand-computed ones and the alignment of rows, entropies and positions is checked through the real runner.
/// </summary>
public sealed class ScriptedModelTests
{
    private static readonly float[][][][] Patterns =
    [
        [[[1], [.5f, .5f], [0, 0, 1], [0, 0, .5f, .5f], [0, 0, 0, .5f, .5f]],          // (0,0): d 1/3
         [[1], [1, 0], [1, 0, 0], [.5f, 0, .5f, 0], [.25f, 0, .25f, .5f, 0]]],        // (0,1): d 2
        [[[1], [1, 0], [0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1, 0]],                        // (1,0): d 1
         [[1], [1, 0], [1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0, 0]]],                       // (1,1): d 3
    ];

    [Fact]
    public void Run_records_the_hand_computed_series_peaks_and_couplings()
    {
        using var model = new ScriptedModel();
        var records = new List<IReadOnlyDictionary<string, object?>>();
        var result = new ReasoningRhythmKind().Run(new RecipeKindContext
        {
            RecipeName = "scripted", Model = model, OutputDirectory = Path.GetTempPath(), Record = records.Add,
            Samples = [new Sample("q1", "question", null, new Dictionary<string, object?>())],
            Options = new OptionValues(new Dictionary<string, object?>
            {
                ["window"] = 2L, ["horizon_lo"] = 1L, ["horizon_hi"] = 2L, ["group_fraction"] = 0.5, ["peak_quantile"] = 0.0,
            }),
        });
        var item = RhythmItem.FromJson(System.Text.Json.JsonSerializer.Serialize(records.Single()));
        item.PromptTokens.Should().Be(2);
        item.Tokens.Should().Equal("a", "b", "c");
        // layers: the middle-third rule on L = 2 → 0 … 1 → {0, 1}; H_loc = {0-0, 1-0}, H_glob = {1-1, 0-1} (ReducerTests)
        item.HeadsLocal.Should().Equal("0-0", "1-0");
        item.HeadsGlobal.Should().Equal("1-1", "0-1");
        item.Waad.Should().Equal([0.5, 0.75, 0.75], (a, b) => Math.Abs(a - b) < 1e-9);
        item.Fai[0]!.Value.Should().BeApproximately(0.1875, 1e-9);
        item.Fai[1]!.Value.Should().BeApproximately(0.25, 1e-9);
        item.Fai[2].Should().BeNull();
        item.Entropy.Should().Equal([0.1, 0.2, 0.3], (a, b) => Math.Abs(a - b) < 1e-6);
        // WAAD [.5 .75 .75]: position 1 rises above .5 and is ≥ the next → peak 1. FAI [.1875 .25 null]: peak 1.
        item.WaadPeaks.Should().Equal(1);
        item.FaiPeaks.Should().Equal(1);
        item.TopFai.Should().Equal(1);   // ⌈0.4 × 2⌉ = 1 of the two defined positions
        model.ScoredFrom.Should().Be(2);

        var c = (IReadOnlyDictionary<string, object?>)result.Summary["couplings"]!;
        var ent = (IReadOnlyDictionary<string, object?>)c["entropy_at_waad_peaks"]!;
        ((double)ent["observed"]!).Should().BeApproximately(0.2, 1e-6);               // entropy[1]
        ((double)ent["random"]!).Should().BeApproximately(0.2, 1e-6);                 // (.1 + .2 + .3) / 3
        var next = (IReadOnlyDictionary<string, object?>)c["next_entropy_at_waad_peaks"]!;
        ((double)next["observed"]!).Should().BeApproximately(0.3, 1e-6);              // entropy[2]
        ((double)next["random"]!).Should().BeApproximately(0.25, 1e-6);               // (.2 + .3) / 2
        var fai = (IReadOnlyDictionary<string, object?>)c["fai_peak_follows_waad_peak"]!;
        ((double)fai["observed"]!).Should().Be(1);                                     // FAI peak 1 coincides with WAAD peak 1
        ((double)fai["random"]!).Should().Be(0.5);                                     // of positions {0, 1}, only 1 has a WAAD peak in [s−3, s]
    }

    /// <summary>A model that "generates" the tokens a b c after a 2-token prompt and plays back fixed attention and entropies.</summary>
    private sealed class ScriptedModel : ILanguageModel
    {
        public int ScoredFrom { get; private set; } = -1;
        public ModelInfo Info { get; } = new("scripted", 2, 2, 2, 8, 10, 64, "float32", "cpu");
        public ITokenizer Tokenizer { get; } = new Tok();
        public IReadOnlySet<Type> SupportedInterventions { get; } = new HashSet<Type>();
        public bool SupportsAttentionCapture => true;

        public GenerationResult Generate(GenerationRequest request, CancellationToken cancellationToken = default)
        {
            request.PromptTokens.Should().Equal(1, 2);
            request.Sampling.IsGreedy.Should().BeTrue();
            return new GenerationResult(request.PromptTokens, [new GeneratedSequence(new TokenScores([5, 6, 7], [-1f, -1f, -1f], [0.1f, 0.2f, 0.3f]), "abc", FinishReason.Length)]);
        }

        public TokenScores Score(ScoreRequest request, CancellationToken cancellationToken = default)
        {
            request.Tokens.Should().Equal(1, 2, 5, 6, 7);
            ScoredFrom = request.From;
            foreach (var capture in request.Captures)
                for (int layer = 0; layer < 2; layer++)
                {
                    if (capture.Layers is { } wanted && !wanted.Contains(layer)) continue;
                    for (int t = 0; t < 5; t++)   // one row per call, KeyLength = 5 (a teacher-forced pass's full width)
                    {
                        var w = new float[2 * 5];
                        for (int h = 0; h < 2; h++) Patterns[layer][h][t].CopyTo(w, h * 5);
                        capture.Accept(new AttentionRowBlock(0, layer, t, 1, 2, 5, w));
                    }
                }
            return new TokenScores([5, 6, 7], [-1f, -1f, -1f], [0.1f, 0.2f, 0.3f]);
        }

        public void Dispose() { }
    }

    private sealed class Tok : ITokenizer
    {
        public int VocabSize => 10;
        public int? BosId => null;
        public int? EosId => null;
        public IReadOnlyList<int> StopIds => [];
        public IReadOnlyList<int> Encode(string text, bool addBos = false) => [1, 2];
        public string Decode(IEnumerable<int> ids) => string.Concat(ids.Select(TokenText));
        public string TokenText(int id) => id switch { 5 => "a", 6 => "b", 7 => "c", _ => "?" };
    }
}
