using System.Diagnostics;
using System.Text.Json;
using AttnEval.Abstractions;
using AttnEval.Backends.TorchSharp;
using AttnEval.Metrics.Uqac;
using AttnEval.TestSupport;
using Xunit.Abstractions;

namespace AttnEval.Metrics.Uqac.Tests;

/// <summary>
/// Opt-in benchmark (<c>ATTNEVAL_BENCH=1</c>): UQAC's added time as a share of generation time on stories260K. For each
/// prompt: greedy generation of 64 tokens without capture (G0), with a no-op reducer (the backend's capture cost) and with the UQAC reducer (G1); then the estimator on the
/// answer followed by a teacher-forced <c>\n#### 7</c> line (so the chain and the ensemble passes have real work), timed
/// as E. Prints one JSON line: added share = (G1 − G0 + E) / G0.
/// <c>ATTNEVAL_BENCH=1 dotnet test tests/AttnEval.Metrics.Uqac.Tests --filter UqacBenchmark --logger "console;verbosity=detailed"</c>
/// </summary>
public sealed class UqacBenchmark(ITestOutputHelper output)
{
    [SkippableFact]
    public void Added_time_share_of_generation()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("ATTNEVAL_BENCH") == "1", "set ATTNEVAL_BENCH=1 to run the benchmark");
        using var model = new TorchSharpBackend().Load(new ModelSource(SharedData.Require("models/stories260K/stories260K.bin")));
        string[] prompts = ["Once upon a time, there was a little girl named Lily.", "Tom had a big red ball.", "The sun was shining and the birds were singing.",
            "One day, a cat found a box.", "Sara and Ben went to the park.", "The dog was very hungry.", "Max liked to climb trees.", "Anna saw a big boat."];
        var factory = new UqacEstimatorFactory();
        double g0 = 0, g1 = 0, gNoop = 0, e = 0; int tokens = 0, variants = 0, rounds = 3;
        for (int round = 0; round < rounds; round++)
            foreach (var text in prompts)
            {
                var prompt = model.Tokenizer.Encode(text, addBos: true);
                var sw = Stopwatch.StartNew();
                var plain = model.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 64 }).Sequences[0];
                g0 += sw.Elapsed.TotalSeconds;
                sw.Restart();
                model.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 64, Captures = [new NoOpReducer()] });
                gNoop += sw.Elapsed.TotalSeconds;
                var estimator = (UqacEstimator)factory.Create(OptionValues.Empty);
                var reducer = estimator.CreateReducer(model.Info, prompt.Count)!;
                sw.Restart();
                var captured = model.Generate(new GenerationRequest { PromptTokens = prompt, MaxNewTokens = 64, Captures = [reducer] }).Sequences[0];
                g1 += sw.Elapsed.TotalSeconds;
                captured.Tokens.Should().Equal(plain.Tokens);
                tokens += plain.Tokens.Count;

                // the same answer plus a final '#### 7' line, teacher-forced so its rows exist, then the estimator alone
                var response = captured.Tokens.Concat(model.Tokenizer.Encode("\n#### 7")).ToArray();
                var forcedReducer = estimator.CreateReducer(model.Info, prompt.Count)!;
                var scores = model.Score(new ScoreRequest { Tokens = prompt.Concat(response).ToArray(), From = prompt.Count, Captures = [forcedReducer] });
                var ctx = new EstimationContext
                {
                    Model = model, Sample = new Sample("b", text, "7", new Dictionary<string, object?>()), Prompt = text, PromptTokens = prompt,
                    Answer = new GeneratedSequence(scores, model.Tokenizer.Decode(response), FinishReason.Length), Reducer = forcedReducer,
                };
                sw.Restart();
                var est = estimator.Estimate(ctx);
                e += sw.Elapsed.TotalSeconds;
                variants += (int)est.Details!["variants"]!;
            }
        int n = prompts.Length * rounds;
        var line = JsonSerializer.Serialize(new
        {
            model = "stories260K", answers = n, generated_tokens = tokens,
            generation_s = Math.Round(g0, 3), generation_with_noop_capture_s = Math.Round(gNoop, 3), generation_with_capture_s = Math.Round(g1, 3), estimate_s = Math.Round(e, 3),
            backend_capture_share = Math.Round((gNoop - g0) / g0, 4), reducer_share = Math.Round((g1 - gNoop) / g0, 4), capture_share = Math.Round((g1 - g0) / g0, 4), estimate_share = Math.Round(e / g0, 4), added_share = Math.Round((g1 - g0 + e) / g0, 4),
            mean_variants = Math.Round((double)variants / n, 2),
        });
        output.WriteLine(line);
        Console.WriteLine(line);
    }

    /// <summary>Receives every row and keeps nothing: the backend's own cost of delivering attention.</summary>
    private sealed class NoOpReducer : IAttentionRowReducer
    {
        public IReadOnlySet<int>? Layers => null;
        public void Accept(in AttentionRowBlock block) { }
    }
}
