using System.Text;
using AttnEval.Core.Datasets;
using AttnEval.TestSupport;

// Namespace is not AttnEval.Core.Tests.Datasets: that would shadow AttnEval.Core.Datasets for sibling test namespaces
// that write `Datasets.DatasetSpec` (tests/AttnEval.Core.Tests/Recipes). The name still matches the ~Datasets filter.
namespace AttnEval.Core.Tests.DatasetsTests;

public sealed class DatasetReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("attneval-ds-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string content, bool bom = false)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content, new UTF8Encoding(bom));
        return path;
    }

    private static DatasetException ReadFails(DatasetSpec spec)
    {
        var act = () => DatasetReader.Read(spec);
        return act.Should().Throw<DatasetException>().Which;
    }

    // ------------------------------------------------------------------ JSONL

    [Fact]
    public void Jsonl_maps_fields_and_numbers_lines_for_ids()
    {
        var path = Write("gsm.jsonl",
            """
            {"question": "1+1?", "answer": "#### 2", "n": 3, "ok": true, "tags": ["a", 1.5, null], "meta": {"src": "x", "k": {"d": 2}}}
            {"question": "2+2?", "answer": "#### 4", "n": null}
            """);
        var samples = DatasetReader.Read(new DatasetSpec(path));
        samples.Select(s => s.Id).Should().Equal("gsm-1", "gsm-2");
        var s0 = samples[0];
        s0.Input.Should().Be("1+1?");
        s0.Target.Should().Be("#### 2");
        s0.Fields["n"].Should().Be(3.0);
        s0.Fields["ok"].Should().Be(true);
        s0.Fields["tags"].Should().BeAssignableTo<IReadOnlyList<object?>>().Which.Should().Equal("a", 1.5, null);
        s0.Field("meta.src").Should().Be("x");
        s0.Field("meta.k.d").Should().Be(2.0);
        s0.Fields["meta"].Should().BeAssignableTo<IReadOnlyDictionary<string, object?>>();
        samples[1].Fields["n"].Should().BeNull();
    }

    [Fact]
    public void Jsonl_blank_lines_are_skipped_but_counted()
    {
        var path = Write("qa.jsonl", "{\"question\":\"a\",\"answer\":\"1\"}\n\n   \r\n{\"question\":\"b\",\"answer\":\"2\"}\r\n\n");
        DatasetReader.Read(new DatasetSpec(path)).Select(s => (s.Id, s.Input)).Should().Equal(("qa-1", "a"), ("qa-4", "b"));
    }

    [Fact]
    public void Jsonl_with_a_byte_order_mark_reads_the_first_record()
    {
        var path = Write("bom.jsonl", "{\"question\":\"a\",\"answer\":\"1\"}\n", bom: true);
        File.ReadAllBytes(path)[0].Should().Be(0xEF);
        DatasetReader.Read(new DatasetSpec(path)).Single().Should().Match<AttnEval.Abstractions.Sample>(s => s.Id == "bom-1" && s.Input == "a");
    }

    [Fact]
    public void Malformed_jsonl_line_names_file_line_and_column()
    {
        var path = Write("x.jsonl", "{\"question\":\"a\",\"answer\":\"1\"}\n\n{\"question\": \"a\" \"answer\": \"b\"}\n");
        var e = ReadFails(new DatasetSpec(path));
        e.FilePath.Should().Be(path);
        e.Line.Should().Be(3);
        e.Column.Should().Be(18);
        e.Message.Should().StartWith($"{path}:3: invalid JSON (").And.EndWith("at column 18)");
        e.Should().BeAssignableTo<IOException>();
    }

    [Fact]
    public void Column_counts_characters_not_bytes()
    {
        var path = Write("u.jsonl", "{\"question\": \"ééé\" x}\n");
        ReadFails(new DatasetSpec(path)).Column.Should().Be(20); // 19 characters before 'x' (25 bytes)
    }

    [Fact]
    public void A_jsonl_line_that_is_not_an_object_is_rejected()
    {
        var path = Write("arr.jsonl", "{\"question\":\"a\",\"answer\":\"1\"}\n[1, 2]\n");
        ReadFails(new DatasetSpec(path)).Message.Should().Be($"{path}:2: expected a JSON object, found an array");
    }

    [Fact]
    public void Missing_input_field_names_the_field_and_line()
    {
        var path = Write("m.jsonl", "{\"question\":\"a\",\"answer\":\"1\"}\n{\"prompt\":\"b\",\"answer\":\"2\"}\n");
        var e = ReadFails(new DatasetSpec(path));
        e.Line.Should().Be(2);
        e.Message.Should().StartWith($"{path}:2: missing input field 'question' (dataset.input)").And.Contain("prompt, answer");
    }

    [Fact]
    public void Missing_target_is_an_error_when_mapped_and_ignored_when_not()
    {
        var path = Write("t.jsonl", "{\"question\":\"a\"}\n");
        ReadFails(new DatasetSpec(path)).Message.Should().Contain(":1: missing target field 'answer' (dataset.target)");
        DatasetReader.Read(new DatasetSpec(path, Target: null)).Single().Target.Should().BeNull();
    }

    [Fact]
    public void A_null_target_is_allowed_but_a_null_or_structured_input_is_not()
    {
        var path = Write("n.jsonl", "{\"question\":\"a\",\"answer\":null}\n");
        DatasetReader.Read(new DatasetSpec(path)).Single().Target.Should().BeNull();
        var bad = Write("b.jsonl", "{\"question\":null}\n");
        ReadFails(new DatasetSpec(bad, Target: null)).Message.Should().Contain("input field 'question' is null");
        var obj = Write("o.jsonl", "{\"question\":{\"t\":1}}\n");
        ReadFails(new DatasetSpec(obj, Target: null)).Message.Should().Contain("is an object (expected text");
    }

    [Fact]
    public void Dotted_paths_map_input_target_and_id_and_numbers_become_text()
    {
        var path = Write("d.jsonl",
            """
            {"q": {"text": "Capital of France?"}, "answer": {"value": "Paris", "aliases": ["Paris", "Paree"]}, "meta": {"id": 17}}
            {"q": {"text": "6*7?"}, "answer": {"value": 42}, "meta": {"id": "b"}}
            """);
        var samples = DatasetReader.Read(new DatasetSpec(path, Input: "q.text", Target: "answer.value", Id: "meta.id"));
        samples.Select(s => (s.Id, s.Input, s.Target)).Should().Equal(("17", "Capital of France?", "Paris"), ("b", "6*7?", "42"));
        samples[0].Field("answer.aliases").Should().BeAssignableTo<IReadOnlyList<object?>>().Which.Should().Equal("Paris", "Paree");
    }

    [Fact]
    public void A_key_containing_a_dot_is_matched_before_the_path()
    {
        var path = Write("k.jsonl", "{\"a.b\": \"flat\", \"a\": {\"b\": \"nested\"}}\n");
        DatasetReader.Read(new DatasetSpec(path, Input: "a.b", Target: null)).Single().Input.Should().Be("flat");
    }

    [Fact]
    public void Duplicate_mapped_ids_are_rejected_with_both_lines()
    {
        var path = Write("dup.jsonl", "{\"id\":\"a\",\"question\":\"x\"}\n{\"id\":\"b\",\"question\":\"y\"}\n{\"id\":\"a\",\"question\":\"z\"}\n");
        var e = ReadFails(new DatasetSpec(path, Target: null, Id: "id"));
        e.Line.Should().Be(3);
        e.Message.Should().Contain("duplicate sample id 'a' (first seen at line 1)");
    }

    // ------------------------------------------------------------------ JSON array

    [Fact]
    public void Json_array_uses_zero_based_index_ids_and_element_lines()
    {
        var path = Write("items.json",
            """
            [
              {"question": "a", "answer": "1"},
              {
                "question": "b",
                "answer": "2"
              },
              {"prompt": "c", "answer": "3"}
            ]
            """, bom: true);
        var e = ReadFails(new DatasetSpec(path));
        e.Line.Should().Be(7);
        e.Message.Should().StartWith($"{path}:7: missing input field 'question'");

        var ok = Write("ok.json", "[{\"question\": \"a\", \"answer\": \"1\"},\n {\"question\": \"b\", \"answer\": \"2\"}]");
        DatasetReader.Read(new DatasetSpec(ok)).Select(s => (s.Id, s.Input)).Should().Equal(("ok-0", "a"), ("ok-1", "b"));
    }

    [Fact]
    public void Malformed_json_array_reports_line_and_column()
    {
        var path = Write("bad.json", "[\n  {\"question\": \"a\"},\n  {\"question\": \"b\" \"answer\": 1}\n]");
        var e = ReadFails(new DatasetSpec(path, Target: null));
        e.Line.Should().Be(3);
        e.Column.Should().Be(20);
        e.Message.Should().StartWith($"{path}:3: invalid JSON (").And.EndWith("at column 20)");
    }

    [Fact]
    public void Json_top_level_must_be_an_array_of_objects()
    {
        ReadFails(new DatasetSpec(Write("obj.json", "{\"data\": []}"))).Message.Should().Contain("expected a JSON array of objects at the top level");
        ReadFails(new DatasetSpec(Write("nums.json", "[1, 2]"))).Message.Should().Contain(":1: array element 0: expected a JSON object, found a number");
        ReadFails(new DatasetSpec(Write("empty.json", "  "))).Message.Should().Contain("the file is empty");
        ReadFails(new DatasetSpec(Write("trail.json", "[{\"question\":\"a\",\"answer\":\"b\"}] x"))).Message.Should().Contain("invalid JSON");
    }

    // ------------------------------------------------------------------ CSV

    [Fact]
    public void Csv_with_quoted_commas_quotes_and_newlines()
    {
        var path = Write("qa.csv",
            "question,answer,source\n" +
            "\"Paris, France?\",yes,a\n" +
            "\"Line one\nline two\",\"He said \"\"hi\"\"\",b\n" +
            "\n" +
            "plain,no,c\n");
        var samples = DatasetReader.Read(new DatasetSpec(path));
        samples.Select(s => s.Id).Should().Equal("qa-2", "qa-3", "qa-6");
        samples[0].Input.Should().Be("Paris, France?");
        samples[1].Input.Should().Be("Line one\nline two");
        samples[1].Target.Should().Be("He said \"hi\"");
        samples[2].Fields["source"].Should().Be("c");
    }

    [Fact]
    public void Csv_with_bom_and_crlf()
    {
        var path = Write("b.csv", "question,answer\r\nq1,a1\r\nq2,a2\r\n", bom: true);
        DatasetReader.Read(new DatasetSpec(path)).Select(s => (s.Id, s.Input, s.Target)).Should().Equal(("b-2", "q1", "a1"), ("b-3", "q2", "a2"));
    }

    [Fact]
    public void Csv_row_with_the_wrong_field_count_names_its_line()
    {
        var path = Write("w.csv", "question,answer\nq1,a1\n\"multi\nline\",a2\nq3\n");
        var e = ReadFails(new DatasetSpec(path));
        e.Line.Should().Be(5);
        e.Message.Should().Be($"{path}:5: expected 2 fields as in the header, found 1");
    }

    [Fact]
    public void Csv_bad_quote_is_a_dataset_error()
    {
        var path = Write("q.csv", "question,answer\nq1,a1\nbad \"quote\" here,a2\n");
        var e = ReadFails(new DatasetSpec(path));
        e.Line.Should().Be(3);
        e.Message.Should().Contain("malformed CSV field");
    }

    [Fact]
    public void Csv_header_problems()
    {
        ReadFails(new DatasetSpec(Write("h.csv", "question,question\na,b\n"), Target: null)).Message.Should().Contain("header column 'question' appears twice");
        ReadFails(new DatasetSpec(Write("e.csv", ""))).Message.Should().Contain("the file is empty");
    }

    // ------------------------------------------------------------------ limit, shuffle, ids

    private string Numbered(int n) =>
        Write("nums.jsonl", string.Join("\n", Enumerable.Range(1, n).Select(i => $"{{\"question\":\"q{i}\",\"answer\":\"{i}\"}}")));

    [Fact]
    public void Limit_keeps_the_first_records_in_file_order()
    {
        var path = Numbered(20);
        DatasetReader.Read(new DatasetSpec(path, Limit: 3)).Select(s => s.Id).Should().Equal("nums-1", "nums-2", "nums-3");
    }

    [Fact]
    public void Seeded_shuffle_is_fisher_yates_over_splitmix64()
    {
        // expected orders computed independently (Python big-int implementation of the same PRNG and shuffle)
        var path = Numbered(20);
        DatasetReader.Read(new DatasetSpec(path, Seed: 7, Shuffle: true)).Select(s => s.Target)
            .Should().Equal("5 2 3 16 17 19 10 7 14 4 9 6 20 13 18 11 12 1 15 8".Split(' '));
        DatasetReader.Read(new DatasetSpec(path, Seed: 8, Shuffle: true, Limit: 4)).Select(s => s.Target)
            .Should().Equal("4", "16", "20", "2");
    }

    [Fact]
    public void Shuffle_is_deterministic_and_ids_do_not_depend_on_it()
    {
        var path = Numbered(20);
        var spec = new DatasetSpec(path, Seed: 42, Shuffle: true, Limit: 5);
        var a = DatasetReader.Read(spec);
        var b = DatasetReader.Read(spec);
        a.Select(s => s.Id).Should().Equal(b.Select(s => s.Id));
        DatasetReader.Read(spec with { Seed = 43 }).Select(s => s.Id).Should().NotEqual(a.Select(s => s.Id));
        var byId = DatasetReader.Read(new DatasetSpec(path)).ToDictionary(s => s.Id, s => s.Input);
        a.Should().OnlyContain(s => byId[s.Id] == s.Input);
        a.Select(s => s.Id).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void Enumerate_without_shuffle_stops_at_the_limit()
    {
        var path = Write("late.jsonl", "{\"question\":\"a\",\"answer\":\"1\"}\n{\"question\":\"b\",\"answer\":\"2\"}\nnot json\n");
        DatasetReader.Enumerate(new DatasetSpec(path, Limit: 2)).Select(s => s.Id).Should().Equal("late-1", "late-2");
        ReadFails(new DatasetSpec(path, Limit: 2, Shuffle: true)).Line.Should().Be(3);
    }

    // ------------------------------------------------------------------ format and file

    [Fact]
    public void Format_comes_from_the_extension_or_the_spec()
    {
        DatasetReader.ResolveFormat(new DatasetSpec("a/b.JSONL")).Should().Be("jsonl");
        DatasetReader.ResolveFormat(new DatasetSpec("a/b.ndjson")).Should().Be("jsonl");
        DatasetReader.ResolveFormat(new DatasetSpec("a/b.json")).Should().Be("json");
        DatasetReader.ResolveFormat(new DatasetSpec("a/b.csv")).Should().Be("csv");
        DatasetReader.ResolveFormat(new DatasetSpec("a/b.txt", Format: "CSV")).Should().Be("csv");
        FluentActions.Invoking(() => DatasetReader.ResolveFormat(new DatasetSpec("a/b.txt")))
            .Should().Throw<DatasetException>().WithMessage("a/b.txt: cannot tell the format from the extension '.txt'*");
        FluentActions.Invoking(() => DatasetReader.ResolveFormat(new DatasetSpec("a/b.json", Format: "parquet")))
            .Should().Throw<DatasetException>().WithMessage("*unknown dataset format 'parquet' (expected jsonl, json or csv)");
        var txt = Write("data.txt", "{\"question\":\"a\",\"answer\":\"1\"}\n");
        DatasetReader.Read(new DatasetSpec(txt, Format: "jsonl")).Single().Id.Should().Be("data-1");
    }

    [Fact]
    public void Missing_file_and_bad_limit()
    {
        var missing = Path.Combine(_dir, "nope.jsonl");
        var e = ReadFails(new DatasetSpec(missing));
        e.Line.Should().BeNull();
        e.Message.Should().Be($"{missing}: file not found (dataset.path)");
        FluentActions.Invoking(() => DatasetReader.Read(new DatasetSpec(missing, Limit: 0)))
            .Should().Throw<ArgumentException>().WithMessage("*dataset.limit must be ≥ 1*");
    }

    [SkippableFact]
    public void Reads_the_shared_gsm8k_test_split()
    {
        var path = SharedData.Require("gsm8k/test.jsonl");
        var all = DatasetReader.Read(new DatasetSpec(path));
        all.Count.Should().BeGreaterThan(1000);
        all[0].Id.Should().Be("test-1");
        all[0].Input.Should().StartWith("Janet\u2019s ducks lay 16 eggs per day.");
        all[0].Target.Should().EndWith("#### 18");
        var picked = DatasetReader.Read(new DatasetSpec(path, Limit: 10, Seed: 7, Shuffle: true));
        picked.Should().HaveCount(10);
        var byId = all.ToDictionary(s => s.Id);
        picked.Should().OnlyContain(s => byId[s.Id].Input == s.Input);
    }
}
