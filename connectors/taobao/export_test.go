package taobao

// HorizonMargin is what a backfill keeps inside the platform's three months.
const HorizonMargin = horizonMargin
