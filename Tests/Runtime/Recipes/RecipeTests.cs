using OnnxRev.Runtime.Recipes;

namespace OnnxRev.Tests.Runtime.Recipes;

/// <summary>Recipe parsing: the built-ins are valid and use registered steps; mistakes name the recipe and what is wrong.</summary>
public class RecipeTests
{
    [Test]
    public void EveryBuiltInRecipeParsesAndUsesRegisteredSteps()
    {
        Assert.That(Recipe.BuiltInNames, Is.SupersetOf(new[] { "edge-int8", "edge-int4", "deep-compression", "finetune-lowmem", "demo" }));
        foreach (var name in Recipe.BuiltInNames)
        {
            var r = Recipe.Load(name);
            Assert.That(r.Name, Is.EqualTo(name));
            Assert.That(r.Description, Is.Not.Empty);
            Assert.That(r.Goals, Is.Not.Empty, $"{name} states goals");
            foreach (var s in r.Steps) Assert.DoesNotThrow(() => RecipeSteps.Find(s.Kind), $"{name}: step {s.Kind}");
        }
    }

    [Test]
    public void StepOptionsKeepTheirValues()
    {
        var r = Recipe.Parse("""{"steps": [{"step": "search", "name": "rank search", "passes": ["a", "b"], "values": [0.5, 0.99], "flag": true}], "goals": {"min_cosine": 0.99}}""", "inline");
        var s = r.Steps.Single();
        Assert.That(s.Name, Is.EqualTo("rank search"));
        Assert.That(s.Options.GetList("passes"), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(s.Options.GetList("values"), Is.EqualTo(new[] { "0.5", "0.99" }));
        Assert.That(s.Options.Get("flag"), Is.EqualTo("true"));
        Assert.That(r.Goals.Single().ToString(), Is.EqualTo("min_cosine ≥ 0.99"));
        Assert.That(r.Goals.Single().AtMost, Is.False);
    }

    [TestCase("{", "is not valid JSON")]
    [TestCase("""{"steps": []}""", "'steps' must be a non-empty list")]
    [TestCase("""{"steps": [{"passes": ["cleanup"]}]}""", "step 1 must be an object with a \"step\" kind")]
    [TestCase("""{"goals": {"happiness": 1}, "steps": [{"step": "evaluate"}]}""", "unknown goal 'happiness'")]
    [TestCase("""{"goals": {"bytes": "small"}, "steps": [{"step": "evaluate"}]}""", "goal 'bytes' must be a number")]
    [TestCase("""{"stpes": [], "steps": [{"step": "evaluate"}]}""", "unknown field 'stpes'")]
    public void MistakesAreClearErrors(string json, string expected)
    {
        var e = Assert.Throws<OnnxRevException>(() => Recipe.Parse(json, "mine.json"));
        Assert.That(e!.Message, Does.Contain("mine.json").And.Contain(expected));
    }

    [Test]
    public void AnUnknownRecipeNameListsTheBuiltIns()
    {
        var e = Assert.Throws<OnnxRevException>(() => Recipe.Load("no-such-recipe"));
        Assert.That(e!.Message, Does.Contain("finetune-lowmem"));
    }
}
