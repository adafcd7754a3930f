package mio

import "time"

// More entry kinds (spec §2.5.5, §2.5.6).
const (
	KindFunctionalAssessment Kind = "functional-assessment"
	KindLifeStyleFactor      Kind = "lifestyle-factor"
	KindEnvironmentalFactor  Kind = "environmental-factor"
	KindNutritionIntake      Kind = "nutrition-intake"
)

// FunctionalAssessment is an assessment of a body or mental function
// (Observation_Functional_Assessment, section beurteilungen); Category is
// an ICF code of KBV_VS_MIO_DIGA_Functional_Assessment_Type (e.g. b1).
type FunctionalAssessment struct {
	Common
	Category  string  `json:"category,omitempty"`
	Code      Concept `json:"code"`
	Effective Timing  `json:"effective"`
	Value     Value   `json:"value,omitzero"`
}

// Kind implements Entry.
func (*FunctionalAssessment) Kind() Kind        { return KindFunctionalAssessment }
func (e *FunctionalAssessment) when() time.Time { return e.Effective.start() }

// LifeStyleFactor is a lifestyle factor (Observation_Life_Style_Factor,
// section lebensstilfaktoren); it carries no value itself: values are
// free observations named in Members (hasMember). Category is an ICF code
// of KBV_VS_MIO_DIGA_Lifestyle_Factors (e.g. d570).
type LifeStyleFactor struct {
	Common
	Category  string  `json:"category,omitempty"`
	Code      Concept `json:"code"`
	Effective Timing  `json:"effective"`
	Members   []Ref   `json:"members,omitempty"`
}

// Kind implements Entry.
func (*LifeStyleFactor) Kind() Kind        { return KindLifeStyleFactor }
func (e *LifeStyleFactor) when() time.Time { return e.Effective.start() }

// EnvironmentalFactor is an environmental factor
// (Observation_Environmental_Factor, section umweltfaktoren); Effective
// must be a period with start and end. Category is an ICF code of
// KBV_VS_MIO_DIGA_Environmental_Factors (e.g. e225).
type EnvironmentalFactor struct {
	Common
	Category  string  `json:"category,omitempty"`
	Code      Concept `json:"code"`
	Effective Timing  `json:"effective"`
	Members   []Ref   `json:"members,omitempty"`
}

// Kind implements Entry.
func (*EnvironmentalFactor) Kind() Kind        { return KindEnvironmentalFactor }
func (e *EnvironmentalFactor) when() time.Time { return e.Effective.start() }

// FoodItem is one consumed (or not consumed) food of an intake
// (Observation.component).
type FoodItem struct {
	Code              Concept  `json:"code"`
	Amount            Quantity `json:"amount"`
	NotConsumed       *bool    `json:"notConsumed,omitempty"`
	NotConsumedReason *Coding  `json:"notConsumedReason,omitempty"`
}

// FoodComposition is a nutrient amount of an intake, emitted as an
// Observation_Nutrition_Intake_Food_Composition_Types member that travels
// with its intake.
type FoodComposition struct {
	SourceID string   `json:"sourceId"`
	Code     Concept  `json:"code"`
	Amount   Quantity `json:"amount"`
}

// NutritionIntake is a meal or drink (Observation_Nutrition_Intake,
// section nahrung).
type NutritionIntake struct {
	Common
	Effective   Timing            `json:"effective"`
	Code        Concept           `json:"code"`
	Items       []FoodItem        `json:"items,omitempty"`
	Composition []FoodComposition `json:"composition,omitempty"`
}

// Kind implements Entry.
func (*NutritionIntake) Kind() Kind        { return KindNutritionIntake }
func (e *NutritionIntake) when() time.Time { return e.Effective.start() }

var (
	foodCompositionCat = Coding{sysSNOMED, verSNOMED, "229957008", "Food composition types (substance)"}
	extNotConsumed     = "https://fhir.kbv.de/StructureDefinition/KBV_EX_MIO_DIGA_Nutrition_Intake_Not_Consumed"
	extNotConsumedWhy  = "https://fhir.kbv.de/StructureDefinition/KBV_EX_MIO_DIGA_Nutrition_Intake_Not_Consumed_Reason"
)
