package mapping

import "strings"

// Gender is a member's gender as the platforms report it.
type Gender string

// Gender values.
const (
	GenderUnknown Gender = ""
	GenderMale    Gender = "male"
	GenderFemale  Gender = "female"
)

// NormalizeGender maps the codes platforms use — WeChat's 0/1/2, "m"/"f",
// "男"/"女", "male"/"female" in any case — to a Gender. Anything else is unknown.
func NormalizeGender(code string) Gender {
	switch strings.ToLower(strings.TrimSpace(code)) {
	case "1", "m", "male", "男", "man":
		return GenderMale
	case "2", "f", "female", "女", "woman":
		return GenderFemale
	}
	return GenderUnknown
}
