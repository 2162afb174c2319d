package fyneloop_test

const scenarioEnv = "FYNELOOP_SCENARIO"

func runScenario(name string) int { return 0 }
