using System.Text.Json;
using System.Text.Json.Nodes;
using AttnEval.Abstractions;
using AttnEval.Core.Evaluation;
using AttnEval.SemanticKernel;
using Microsoft.Extensions.AI;
using NSubstitute;

namespace AttnEval.Evals.SearchRobustness.Tests;

/// <summary>A scripted agent in the lab's habits: it searches for the key its question names, then answers with the value
/// that follows the key in the first passage holding it; its answers carry token log-probabilities like the lab client.</summary>
internal sealed class KeyLookupAgent : IChatClient
{
    public int Calls;

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        var list = messages.ToList();
        var key = list.First(m => m.Role == ChatRole.User).Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Last().TrimEnd('.');
        var result = list.SelectMany(m => m.Contents).OfType<FunctionResultContent>().LastOrDefault();
        ChatMessage reply;
        if (result is null)
            reply = new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c" + Calls, "search", new Dictionary<string, object?> { ["query"] = key })]);
        else
        {
            var value = ((JsonElement)result.Result!).EnumerateArray().Select(e => e.GetProperty("text").GetString()!.Split(' '))
                .Select(w => Array.IndexOf(w, key) is var i and >= 0 && i + 1 < w.Length ? w[i + 1] : null).FirstOrDefault(v => v is not null);
            reply = new ChatMessage(ChatRole.Assistant, value is null ? "I do not know." : $"<answer> {value}</answer>");
        }
        reply.AdditionalProperties = new() { [LabSearchChatClient.LogProbsKey] = new List<double> { -0.1, -0.2 } };
        return Task.FromResult(new ChatResponse(reply) { Usage = new UsageDetails { OutputTokenCount = 3 } });
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();
    public object? GetService(Type serviceType, object? serviceKey = null) => null;
    public void Dispose() { }
}

public class AgentLoopTests
{
    private static SearchIndex Index() => new([
        new CorpusDocument("q1-p0", "", "K01 V10 K02 V20", "q1", false),
        new CorpusDocument("q1-p1", "", "K03 V11 K04 V12", "q1", true),
        new CorpusDocument("q2-p0", "", "K03 V99", "q2", true),
    ]);

    [Fact]
    public async Task The_loop_runs_the_agents_tool_calls_and_returns_the_tagged_answer()
    {
        using var index = Index();
        var session = new SearchSession(index, new SearchSettings(TopK: 2, MaxSearches: 1, ScopeToQuestion: true, Pad: true), "q1");
        var client = Substitute.For<IChatClient>();
        var seen = new List<List<ChatMessage>>();
        client.GetResponseAsync(Arg.Any<IEnumerable<ChatMessage>>(), Arg.Any<ChatOptions?>(), Arg.Any<CancellationToken>())
            .Returns(
                ci => { seen.Add(ci.Arg<IEnumerable<ChatMessage>>().ToList()); return new ChatResponse(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("1", "search", new Dictionary<string, object?> { ["query"] = "K03" })])); },
                ci => { seen.Add(ci.Arg<IEnumerable<ChatMessage>>().ToList()); return new ChatResponse(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("2", "search", new Dictionary<string, object?> { ["query"] = "K04" })])); },
                ci => { seen.Add(ci.Arg<IEnumerable<ChatMessage>>().ToList()); return new ChatResponse(new ChatMessage(ChatRole.Assistant, "It is <answer> V11</answer>.")); });

        var outcome = await SearchAgent.RunAsync(client, "Use the search tool to find the value of K03.", session, new ChatOptions { Temperature = 0 }, null, maxTurns: 5);

        outcome.Answer.Should().Be("V11");
        outcome.Turns.Should().Be(3);
        outcome.Confidence.Should().BeNull("no middleware");
        session.Calls.Should().HaveCount(2);
        session.Calls[0].Results.Select(r => r.DocId).Should().Equal("q1-p1", "q1-p0");
        session.Calls[1].Refused.Should().BeTrue("the budget is one search");
        var toolMessage = seen[1].Single(m => m.Role == ChatRole.Tool);
        var passages = (JsonElement)toolMessage.Contents.OfType<FunctionResultContent>().Single().Result!;
        passages.EnumerateArray().Select(p => p.GetProperty("doc_id").GetString()).Should().Equal("q1-p1", "q1-p0");
        passages[0].GetProperty("rank").GetInt32().Should().Be(1);
        seen[2].Last().Contents.OfType<FunctionResultContent>().Single().Result!.ToString().Should().Contain("budget of 1 calls is spent");
        await client.Received(3).GetResponseAsync(Arg.Any<IEnumerable<ChatMessage>>(), Arg.Is<ChatOptions?>(o => o!.Tools!.Single().Name == "search"), Arg.Any<CancellationToken>());
    }

    [Fact]
    public void The_lab_client_renders_the_conversation_in_the_trained_text_format()
    {
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, "ignored"),
            new(ChatRole.User, "Use the search tool to find the value of K03."),
            new(ChatRole.Assistant, [new FunctionCallContent("c1", "search", new Dictionary<string, object?> { ["query"] = "K03" })]),
            new(ChatRole.Tool, [new FunctionResultContent("c1", JsonSerializer.SerializeToElement(new[] { new ToolPassage("a", "", "K03 V11", 1.5, 1), new ToolPassage("b", "", "K01 V10", 0, 2) }))]),
        };
        LabSearchChatClient.Render(messages).Should().Be(
            "Question: Use the search tool to find the value of K03.\nAnswer: <search> K03</search>\n<result>\nDoc 1: K03 V11\nDoc 2: K01 V10\n</result>\n");
    }

    [Fact]
    public async Task The_lab_client_maps_a_generated_query_to_a_function_call_and_an_answer_to_text()
    {
        var tok = Substitute.For<ITokenizer>();
        tok.Encode(Arg.Any<string>(), Arg.Any<bool>()).Returns([1, 2, 3]);
        var model = Substitute.For<ILanguageModel>();
        model.Tokenizer.Returns(tok);
        model.Info.Returns(new ModelInfo("llama", 1, 1, 1, 8, 10, 64, "float32", "cpu") { Name = "lab" });
        var requests = new List<GenerationRequest>();
        model.Generate(Arg.Do<GenerationRequest>(requests.Add), Arg.Any<CancellationToken>()).Returns(
            Result(" <search> K03"), Result("<answer> V11"));
        using var client = new LabSearchChatClient(model);
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create((string query) => "", "search")] };
        var first = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "q")], options);
        var call = first.Messages.Single().Contents.OfType<FunctionCallContent>().Single();
        call.Name.Should().Be("search");
        call.Arguments!["query"].Should().Be("K03");
        first.FinishReason.Should().Be(ChatFinishReason.ToolCalls);
        ((List<double>)first.AdditionalProperties![LabSearchChatClient.LogProbsKey]!).Should().Equal(-0.5, -0.25);
        var second = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "q")], options);
        second.Text.Should().Be("<answer> V11</answer>");
        requests[0].StopStrings.Should().Equal("</search>", "</answer>");

        static GenerationResult Result(string text) => new([1, 2, 3],
            [new GeneratedSequence(new TokenScores([4, 5], [-0.5f, -0.25f], [0.1f, 0.1f]), text, FinishReason.StopString)]);
    }

    private static IReadOnlyList<Sample> LabItems(int n)
    {
        // Item i: passages p0 (no key), p1 (key K{i} with value V{i}) and p2 (no key); other items' p1 repeat K{i} with another value.
        var items = new List<Sample>();
        for (int i = 0; i < n; i++)
        {
            string key = $"K{i:00}", value = $"V{i:00}";
            var passages = new List<object?> { $"K{50 + i:00} V{(i + 7) % 100:00} K{70 + i:00} V{(i + 3) % 100:00}", $"K{90 - i:00} V{40 + i:00} {key} {value}", $"K{30 + i:00} V{(i + 9) % 100:00}" };
            if (i > 0) passages[2] = $"K{30 + i:00} V{(i + 9) % 100:00} K{i - 1:00} V{60 + i:00}"; // hard negative for item i−1
            items.Add(new Sample($"s{i:00}", $"Use the search tool to find the value of {key}.", value,
                new Dictionary<string, object?> { ["passages"] = passages, ["gold_rank"] = 2.0, ["answer"] = value }));
        }
        return items;
    }

    private static (List<Dictionary<string, object?>> Records, AgentEvaluationResult Result) RunEvaluation(string[] conditions, Func<IChatClient, IChatClient>? extra = null)
    {
        var factory = new SearchRobustnessFactory();
        var options = factory.Options.ToDictionary(o => o.Key, o => o.Default);
        options["conditions"] = conditions.ToList();
        options["scope"] = "question";
        options["pad_results"] = true;
        var evaluation = factory.Create(new OptionValues(options));
        var agent = new KeyLookupAgent();
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<Func<IChatClient, IChatClient>>(services, sp => inner => extra is null ? agent : extra(agent));
        var records = new List<Dictionary<string, object?>>();
        var model = Substitute.For<ILanguageModel>();
        model.Info.Returns(new ModelInfo("llama", 1, 1, 1, 8, 10, 64, "float32", "cpu") { Name = "scripted" });
        var result = evaluation.Run(new AgentEvaluationContext
        {
            Model = model,
            Samples = LabItems(12),
            OutputDirectory = Path.GetTempPath(),
            Seed = 13,
            Record = r => records.Add(r.ToDictionary(kv => kv.Key, kv => kv.Value)),
            Services = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services),
        });
        return (records, result);
    }

    private static List<PairedEpisode> Episodes(List<Dictionary<string, object?>> records) =>
        records.Select(r => PairedEpisode.FromRecord(JsonNode.Parse(JsonSerializer.Serialize(r))!.AsObject())!).ToList();

    [Fact]
    public void Misleading_and_distracting_results_mislead_a_literal_agent_and_the_analysis_sees_it()
    {
        var (records, result) = RunEvaluation(["R-MISLEAD", "R-DISTR m=2 position=top", "R-DROPGOLD", "R-SHUF"]);
        result.Conditions.Should().Equal("clean", "R-MISLEAD(when=first_call)", "R-DISTR(m=2,position=top)", "R-DROPGOLD", "R-SHUF");
        records.Should().HaveCount(12 * 5).And.OnlyContain(r => !r.ContainsKey("error"));

        var clean = records.Where(r => (string)r["condition"]! == "clean").ToList();
        clean.Should().OnlyContain(r => (bool)r["correct"]!);
        var first = clean[0];
        var search = ((IEnumerable<Dictionary<string, object?>>)first["searches"]!).Single();
        search["query_issued"].Should().Be("K00");
        ((IEnumerable<Dictionary<string, object?>>)search["results"]!).Select(x => x["doc_id"]).Should().Equal("s00-p1", "s00-p0", "s00-p2");

        var mislead = records.Where(r => ((string)r["condition"]!).StartsWith("R-MISLEAD", StringComparison.Ordinal)).ToList();
        mislead.Should().OnlyContain(r => (bool)r["misled"]! && !(bool)r["correct"]!);
        mislead.Select(r => (string)r["misleading_answer"]!).Should().OnlyContain(a => a.StartsWith('V') && a.Length == 3, "substitutes have the answer's type");

        var t = PairedConditions.Analyze(Episodes(records), result.ReferenceCondition, result.Conditions, new EvaluationOptions { BootstrapResamples = 500, Seed = 1 })["conditions"]!;
        ((double)t["clean"]!["accuracy"]!).Should().Be(1);
        ((double)t["R-MISLEAD(when=first_call)"]!["delta_acc"]!["ci_low"]!).Should().Be(1);
        ((double)t["R-MISLEAD(when=first_call)"]!["mislead_rate"]!).Should().Be(1);
        // Item i's hard negative is item i+1's third passage (K{i} with another value): items 0–10 have one, item 11 none.
        ((double)t["R-DISTR(m=2,position=top)"]!["accuracy"]!).Should().BeApproximately(1 / 12.0, 1e-12);
        ((double)t["R-DISTR(m=2,position=top)"]!["delta_acc"]!["ci_low"]!).Should().BeGreaterThan(0);
        ((double)t["R-DROPGOLD"]!["abstain"]!).Should().Be(1);
        ((double)t["R-DROPGOLD"]!["stats"]!["support_recall"]!).Should().Be(0);
        ((double)t["R-SHUF"]!["accuracy"]!).Should().Be(1);
        ((double)t["R-SHUF"]!["stats"]!["result_overlap"]!).Should().Be(1);
    }

    [Fact]
    public void The_same_recipe_twice_gives_identical_episodes_and_the_middleware_confidence_is_recorded()
    {
        string[] conditions = ["Q-TYPO rate=0.5", "Q-REDUND", "S-ENT p=1.0", "S-DROP", "R-NOISE m=1", "R-SHUF"];
        Func<IChatClient, IChatClient> gate = inner => new ConfidenceChatClient(inner, new ConfidenceGate(new ConfidenceGateOptions
        {
            Threshold = 0, Scorer = new LogProbConfidenceScorer(LogProbAggregation.Perplexity),
        }));
        var a = RunEvaluation(conditions, gate).Records;
        var b = RunEvaluation(conditions, gate).Records;
        JsonSerializer.Serialize(a).Should().Be(JsonSerializer.Serialize(b));
        a.Should().OnlyContain(r => Math.Abs((double)r["confidence"]! - Math.Exp(-0.15)) < 1e-12, "exp(mean log p) of the scripted answer");
        var ent = a.Where(r => ((string)r["condition"]!).StartsWith("S-ENT", StringComparison.Ordinal)).ToList();
        ent.Should().OnlyContain(r => ((IEnumerable<Dictionary<string, object?>>)r["searches"]!).First()["query_executed"] as string != ((IEnumerable<Dictionary<string, object?>>)r["searches"]!).First()["query_issued"] as string);
        a.Where(r => ((string)r["condition"]!).StartsWith("Q-REDUND", StringComparison.Ordinal)).Should().OnlyContain(r => ((string)r["question_used"]!).Length > 45);
        var other = RunEvaluation(["Q-TYPO rate=0.5"]).Records.Where(r => ((string)r["condition"]!).StartsWith("Q-TYPO", StringComparison.Ordinal)).Select(r => r["question_used"]);
        other.Should().Equal(a.Where(r => ((string)r["condition"]!).StartsWith("Q-TYPO", StringComparison.Ordinal)).Select(r => r["question_used"]), "the seed depends on item, condition and run only");
    }

    [Fact]
    public void Bad_options_fail_before_any_episode_with_a_clear_message()
    {
        var factory = new SearchRobustnessFactory();
        var options = factory.Options.ToDictionary(o => o.Key, o => o.Default);
        options["conditions"] = new List<object?> { "clean", "R-DISTR m=x" };
        FluentActions.Invoking(() => factory.Create(new OptionValues(options))).Should().Throw<ArgumentException>()
            .WithMessage("metrics.search-robustness.conditions[1]: R-DISTR m=x: expected a whole number in [1, 10]");
        options["conditions"] = null;
        options["agent"] = "openai";
        FluentActions.Invoking(() => factory.Create(new OptionValues(options))).Should().Throw<ArgumentException>().WithMessage("*needs endpoint and model_id");
    }
}
