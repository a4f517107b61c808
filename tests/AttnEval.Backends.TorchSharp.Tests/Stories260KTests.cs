using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.TestSupport;

namespace AttnEval.Backends.TorchSharp.Tests;

/// <summary>Golden tests on Karpathy's stories260K (llama2.c v0 and v1 layouts, tok512.bin).</summary>
public sealed class Stories260KTests
{
    private sealed record Reference(int[] Tokens, double[] LogProbs, string Text);

    private static Reference LoadReference()
    {
        var path = SharedData.Require("models/stories260K/stories260K_greedy_reference.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var r = doc.RootElement;
        return new Reference(
            r.GetProperty("generated_tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            r.GetProperty("generated_logprobs").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            r.GetProperty("text").GetString()!);
    }

    internal static ILanguageModel Load(string file = "stories260K.bin") =>
        new TorchSharpBackend().Load(new ModelSource(SharedData.Require("models/stories260K/" + file)));

    [SkippableTheory]
    [InlineData("stories260K.bin")]
    [InlineData("stories260K_v1.bin")]
    public void GreedyFromBosReproducesReference(string file)
    {
        var reference = LoadReference();
        using var model = Load(file);
        model.Info.Should().BeEquivalentTo(new { Architecture = "llama", Layers = 5, Heads = 8, KvHeads = 4, DModel = 64, VocabSize = 512, ContextLength = 512, HeadDim = 8 });
        var result = model.Generate(new GenerationRequest { PromptTokens = [1], MaxNewTokens = 200 });
        var seq = result.Sequences.Single();
        seq.Tokens.Should().Equal(reference.Tokens.Take(200));
        seq.Finish.Should().Be(FinishReason.Length);
        var maxDiff = seq.Scores.LogProbs.Select((lp, i) => Math.Abs(lp - reference.LogProbs[i])).Max();
        // The reference stores log-probs rounded to 5 decimals (±5e-6).
        maxDiff.Should().BeLessThan(1e-4);
        seq.Scores.Entropies.Should().OnlyContain(e => e >= 0 && e <= Math.Log(512) + 1e-4);
        // The full reference continuation decodes to the published text.
        model.Tokenizer.Decode(reference.Tokens).Should().Be(reference.Text);
        seq.Text.Should().Be(model.Tokenizer.Decode(reference.Tokens.Take(200)));
    }

    [SkippableFact]
    public void ScoreMatchesGenerateLogProbs()
    {
        var reference = LoadReference();
        using var model = Load();
        var tokens = new[] { 1 }.Concat(reference.Tokens.Take(100)).ToArray();
        var scores = model.Score(new ScoreRequest { Tokens = tokens, From = 1, TopLogProbs = 3 });
        scores.Tokens.Should().Equal(reference.Tokens.Take(100));
        for (int i = 0; i < 100; i++) scores.LogProbs[i].Should().BeApproximately((float)reference.LogProbs[i], 1e-4f);
        scores.TopK!.Should().HaveCount(100);
        scores.TopK![0][0].Token.Should().Be(403);   // " Once" is the top-1 at step 0
    }

    [SkippableFact]
    public void TokenizerRoundTripsAndMatchesRunC()
    {
        var reference = LoadReference();
        using var model = Load();
        var tok = model.Tokenizer;
        tok.BosId.Should().Be(1);
        tok.EosId.Should().Be(2);
        tok.StopIds.Should().Contain([1, 2]);
        var ids = tok.Encode(reference.Text, addBos: true);
        var runC = RunCEncoder.Encode(SharedData.Require("models/stories260K/tok512.bin"), 512, reference.Text, bos: true);
        ids.Should().Equal(runC);
        tok.Decode(ids).Should().Be(reference.Text);
        tok.Decode(tok.Encode("Once upon a time, Lily saw a big dog.\nThe end: 42 é ü")).Should().Be("Once upon a time, Lily saw a big dog.\nThe end: 42 é ü");
        tok.TokenText(403).Should().Be(" Once");
        tok.TokenText(13).Should().Be("\n");
    }

    [SkippableFact]
    public void TruncatedCheckpointGivesClearError()
    {
        var src = SharedData.Require("models/stories260K/stories260K.bin");
        var dir = Directory.CreateTempSubdirectory("attneval-ts-").FullName;
        try
        {
            var bad = Path.Combine(dir, "stories260K.bin");
            File.WriteAllBytes(bad, File.ReadAllBytes(src).AsSpan(0, 500_000).ToArray());
            File.Copy(SharedData.Require("models/stories260K/tok512.bin"), Path.Combine(dir, "tok512.bin"));
            var act = () => new TorchSharpBackend().Load(new ModelSource(bad));
            act.Should().Throw<ModelLoadException>().WithMessage("*stories260K.bin: truncated llama2.c v0 checkpoint: 500000 bytes, expected 1056540*");
        }
        finally { Directory.Delete(dir, true); }
    }
}
